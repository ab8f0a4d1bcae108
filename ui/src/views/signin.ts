import { api } from "../api.ts";
import { h } from "../dom.ts";

/** The sign-in form: the admin key is sent once and exchanged for an HttpOnly cookie. */
export function renderSignIn(root: HTMLElement, onDone: () => void): void {
  const input = h("input", {
    id: "admin-key",
    type: "password",
    name: "key",
    autocomplete: "current-password",
    required: true,
  });
  const error = h("p", { class: "error", role: "alert" });
  const form = h(
    "form",
    {
      onsubmit: async (event: Event) => {
        event.preventDefault();
        error.textContent = "";
        try {
          await api.signIn(input.value);
          onDone();
        } catch (e) {
          error.textContent = (e as Error).message;
          input.focus();
        }
      },
    },
    h("label", { for: "admin-key" }, "Admin key"),
    input,
    h("button", { type: "submit" }, "Sign in"),
    error,
  );
  root.replaceChildren(
    h(
      "main",
      { id: "main", class: "signin" },
      h("h1", {}, "Holdfast dashboard"),
      h("p", { class: "muted" }, "Sign in with the server's admin key."),
      form,
    ),
  );
  input.focus();
}
