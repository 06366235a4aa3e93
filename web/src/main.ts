// Entry point of the browser provider page.
import { createApp } from "vue";
import App from "./App.vue";
import { Controller } from "./controller";
import { parseOptions } from "./lib/options";
import { exposeStatus, state } from "./state";
import "./style.css";

declare const __APP_VERSION__: string;

async function main() {
  state.version = __APP_VERSION__;
  exposeStatus();
  const opts = parseOptions(location.hash, location.origin, navigator.hardwareConcurrency || 1);
  const controller = new Controller(opts);
  createApp(App, { controller }).mount("#app");
  if ((await controller.init()) && opts.autoconnect) controller.connect();
}

void main();
