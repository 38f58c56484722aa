export { main, SANCTUM_VERSION } from "./main.js";
export { CliError } from "./cli-error.js";
