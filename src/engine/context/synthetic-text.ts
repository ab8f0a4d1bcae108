/**
 * Deterministic, seeded generator of realistic-looking text: English prose, source code, JSON
 * tool results, log lines, markdown, and non-English prose (French, German, Russian, Chinese,
 * Japanese). Used to calibrate and measure the token estimate, and by the eval and benchmark.
 */

/** A seeded PRNG (mulberry32): same seed, same sequence, on every platform. */
export function createRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type Random = () => number;

export function pick<T>(random: Random, values: readonly T[]): T {
  return values[Math.floor(random() * values.length)] as T;
}

export function int(random: Random, min: number, max: number): number {
  return min + Math.floor(random() * (max - min + 1));
}

const EN =
  "the of and to in is that for it as with was on be by this are from at or have an not which but all they their has been more one can will would there other about into than its also some these when time only new may such most first like over any could because after then them used made many people system data user file function value request response error server model token window session item agent tool result output input build test deploy config database query cache memory process thread network latency budget context summary decision customer order invoice payment account report schedule meeting project release version update change issue review approve migrate rollback".split(
    " ",
  );
const FR =
  "le la les de des et un une est que qui dans pour pas avec sur plus par mais comme tout nous vous elle ils être avoir faire dire pouvoir aller voir savoir vouloir venir devoir prendre trouver donner parler aimer passer mettre demande réponse données fichier système utilisateur déploiement résultat à été très après déjà où ça".split(
    " ",
  );
const DE =
  "der die das und ist nicht ein eine zu mit auf für von sich des dem den auch es an werden aus er hat dass sie nach wird bei einer um am sind noch wie einem über einen so zum war haben nur oder aber vor zur bis mehr durch man Anfrage Antwort Datenbank Benutzer Schlüssel Größe Prüfung Übersicht für über schön".split(
    " ",
  );
const RU =
  "и в не на я быть он с что а по это она этот к но они мы как из у который то за свой весь год от так о для ты же все тот мочь вы человек такой его сказать только или ещё запрос ответ данные файл система пользователь сервер ошибка".split(
    " ",
  );
const ZH =
  "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向道命此变条只没结解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总次品式活设及管特件长求老头基资边流路级少图山统接知较将组见计别她手角期根论运农指几九区强放决西被干做必战先回则任取据处理".split(
    "",
  );
const JA =
  "のにはをたがでてとしれさあるいうなこもからすまかっよりだけどんでしょうデータベースファイルサーバーエラーユーザー設定確認".split(
    "",
  );

const IDENTS = [
  "userId",
  "session",
  "config",
  "result",
  "items",
  "token",
  "buffer",
  "request",
  "handler",
  "payload",
  "index",
  "count",
];

function sentence(random: Random, words: readonly string[], joiner = " "): string {
  const n = int(random, 6, 22);
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(pick(random, words));
  const first = out[0] ?? "";
  out[0] = first.charAt(0).toUpperCase() + first.slice(1);
  const end = joiner === "" ? "。" : pick(random, [".", ".", ".", "?", "!"]);
  return out.join(joiner) + (random() < 0.15 && joiner !== "" ? `, ${int(random, 2, 2048)}` : "") + end;
}

function prose(random: Random, words: readonly string[], chars: number, joiner = " "): string {
  let text = "";
  while (text.length < chars) text += `${sentence(random, words, joiner)}${random() < 0.2 ? "\n\n" : " "}`;
  return text;
}

function code(random: Random, chars: number): string {
  let text = "";
  while (text.length < chars) {
    const name = pick(random, IDENTS);
    const other = pick(random, IDENTS);
    text += pick(random, [
      `export async function load${name[0]?.toUpperCase()}${name.slice(1)}(${other}: string): Promise<number> {\n  const ${name} = await db.query("SELECT * FROM t WHERE id = $1", [${other}]);\n  if (!${name}.rows.length) throw new Error(\`missing \${${other}}\`);\n  return ${name}.rows[0].${other} ?? ${int(random, 0, 999)};\n}\n\n`,
      `for (let i = 0; i < ${name}.length; i++) {\n    ${other}[i] = (${name}[i] * ${int(random, 2, 97)}) >>> 0;\n}\n`,
      `def ${name}_${other}(self, ${other}=None):\n    """Return the ${name} for ${other}."""\n    if ${other} is None:\n        return self._${name}.get(${int(random, 0, 99)})\n    return [x for x in self.${name} if x.${other} == ${other}]\n\n`,
      `  // TODO(${name}): handle ${other} overflow when size > ${int(random, 1024, 65536)}\n`,
    ]);
  }
  return text;
}

function json(random: Random, chars: number): string {
  const rows: unknown[] = [];
  let size = 0;
  while (size < chars) {
    const row = {
      id: `${pick(random, ["ord", "usr", "inv", "evt"])}_${Math.floor(random() * 1e10).toString(36)}`,
      status: pick(random, ["ok", "pending", "failed", "shipped", "refunded"]),
      amount: Math.round(random() * 100000) / 100,
      created_at: new Date(1.7e12 + Math.floor(random() * 3e10)).toISOString(),
      tags: [pick(random, EN), pick(random, EN)],
      note: sentence(random, EN),
    };
    rows.push(row);
    size += JSON.stringify(row).length + 4;
  }
  return JSON.stringify({ data: rows, has_more: random() < 0.5 }, null, random() < 0.5 ? 2 : undefined);
}

function logs(random: Random, chars: number): string {
  let text = "";
  let t = 1.7e12 + Math.floor(random() * 1e10);
  while (text.length < chars) {
    t += int(random, 1, 5000);
    text += `${new Date(t).toISOString()} ${pick(random, ["INFO", "WARN", "ERROR", "DEBUG"])} [${pick(random, IDENTS)}] ${sentence(random, EN)} latency_ms=${int(random, 1, 900)} id=${Math.floor(random() * 1e12).toString(16)}\n`;
  }
  return text;
}

function markdown(random: Random, chars: number): string {
  let text = "";
  while (text.length < chars) {
    text += `## ${sentence(random, EN)}\n\n${prose(random, EN, 200)}\n\n- ${sentence(random, EN)}\n- \`${pick(random, IDENTS)}\`: ${sentence(random, EN)}\n\n| key | value |\n|---|---|\n| ${pick(random, IDENTS)} | ${int(random, 0, 1e6)} |\n\n`;
  }
  return text;
}

export const TEXT_KINDS = [
  "prose",
  "code",
  "json",
  "logs",
  "markdown",
  "french",
  "german",
  "russian",
  "chinese",
  "japanese",
] as const;
export type TextKind = (typeof TEXT_KINDS)[number];

/** About `chars` characters of text of one kind. */
export function generateText(random: Random, kind: TextKind, chars: number): string {
  switch (kind) {
    case "prose":
      return prose(random, EN, chars);
    case "code":
      return code(random, chars);
    case "json":
      return json(random, chars);
    case "logs":
      return logs(random, chars);
    case "markdown":
      return markdown(random, chars);
    case "french":
      return prose(random, FR, chars);
    case "german":
      return prose(random, DE, chars);
    case "russian":
      return prose(random, RU, chars);
    case "chinese":
      return prose(random, ZH, chars, "");
    case "japanese":
      return prose(random, JA, chars, "");
  }
}
