/** See quiet-warnings.js. */
export declare function quietStabilityNotices(): () => void;
