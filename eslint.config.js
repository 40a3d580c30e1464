// ESLint for the browser's plain ES modules (web/static) and their unit tests (tests/js).
import js from "@eslint/js";
import globals from "globals";

export default [
  { ignores: ["web/static/vendor/", "node_modules/"] },
  js.configs.recommended,
  {
    files: ["web/static/**/*.js"],
    languageOptions: { ecmaVersion: 2022, sourceType: "module", globals: globals.browser },
    rules: {
      "no-unused-vars": ["error", { caughtErrors: "none" }],
      eqeqeq: ["error", "smart"],
      "prefer-const": "error",
    },
  },
  {
    files: ["tests/js/**/*.js", "eslint.config.js"],
    languageOptions: { ecmaVersion: 2022, sourceType: "module", globals: globals.node },
  },
];
