// The counter page: a cashier's screen over the till's local API (the same routes a POS
// calls). It logs in once for a session cookie; the CSRF token it gets back lives in this
// script's memory only (never in storage), and the page never shows a full card number,
// an e-mail the cashier did not type, or the token.
"use strict";

const PRINTER_TROUBLE = ["paper out", "cover open", "offline", "no reply"];
const KEPT_SALES = 5;
const MAX_PIN_LENGTH = 12;

const state = {
  language: "en", csrf: null, events: null, poll: null, customer: null, email: null,
  pending: null, confirming: false, selling: false, sales: [],
};

const $ = (id) => document.getElementById(id);

function t(key, values) {
  const text = TEXTS[state.language][key] ?? TEXTS.en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(values?.[name] ?? ""));
}

function say(id, text, kind) {
  const element = $(id);
  element.textContent = text || "";
  element.className = element.className.replace(/\b(good|bad)\b/g, "").trim();
  if (kind) element.classList.add(kind);
}

function money(value) {
  const text = Number(value).toFixed(2);
  return state.language === "nl" ? "€ " + text.replace(".", ",") : "€" + text;
}

// A cashier types "12,50" or "12.50"; the API takes "12.50" only (a plain decimal string).
function plainAmount(text) {
  const typed = String(text).trim().replace(",", ".");
  return /^\d{1,7}(\.\d{1,2})?$/.test(typed) ? typed : null;
}

function newId(prefix) {
  const now = new Date().toISOString().replace(/[-:TZ.]/g, "").slice(0, 14);
  const random = crypto.getRandomValues(new Uint32Array(1))[0].toString(36);
  return `counter-${prefix}-${now}-${random}`;
}

function translate() {
  document.documentElement.lang = state.language;
  for (const element of document.querySelectorAll("[data-t]")) {
    element.textContent = t(element.dataset.t);
  }
  renderCustomer();
  renderSales();
}

// --- talking to the agent ------------------------------------------------------------

async function api(method, path, body) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET" && state.csrf) headers["X-CSRF-Token"] = state.csrf;
  let response;
  try {
    response = await fetch(path, {
      method, headers, credentials: "same-origin", cache: "no-store",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    return { ok: false, status: 0, code: "network", message: "" };
  }
  let data = null;
  if (response.status !== 204) {
    try { data = await response.json(); } catch { data = null; }
  }
  if (response.ok) return { ok: true, status: response.status, data };
  const problem = data && typeof data === "object" ? data : {};
  const result = {
    ok: false, status: response.status,
    code: typeof problem.code === "string" ? problem.code : `http_${response.status}`,
    message: typeof problem.message === "string" ? problem.message : "",
    fields: Array.isArray(problem.fields) ? problem.fields : [],
  };
  if (response.status === 401 && !path.startsWith("/v1/counter/session")) loggedOut();
  return result;
}

// The agent's messages are already in the cashier's words (English); the common ones are
// said here in the page's language too. Never a status line or a JSON body.
function problemText(result) {
  switch (result.code) {
    case "network": return t("err_network");
    case "unauthorized": return t("err_unauthorized");
    case "amount_too_large": return t("err_amount_too_large");
    case "offline": return t("err_offline");
    case "invalid_request":
      return t("err_invalid", { fields: result.fields.map((f) => String(f.field)).join(", ") });
    default:
      if (result.status === 403) return t("err_forbidden");
      if (state.language === "en" && result.message) return result.message;
      return result.message ? t("err_other", { message: result.message }) : t("err_unknown");
  }
}

// --- logging in ------------------------------------------------------------------------

async function logIn(event) {
  event.preventDefault();
  const secret = $("secret").value.trim();
  if (!secret) return;
  // One field for both, decided by length: a PIN is what a person types at a till (6 to 12
  // characters), the till's token is long (the agent warns below 16 characters and
  // generates 43). A wrong guess is not retried the other way: every refusal counts
  // towards the agent's login throttle.
  const body = secret.length <= MAX_PIN_LENGTH ? { pin: secret } : { token: secret };
  const result = await api("POST", "/v1/counter/session", body);
  $("secret").value = "";
  if (!result.ok) {
    const key = result.status === 429 ? "login_busy" : result.status === 401 ? "login_wrong" : null;
    say("login-message", key ? t(key) : problemText(result), "bad");
    return;
  }
  startSession(result.data.csrf_token);
}

function startSession(csrf) {
  state.csrf = csrf;
  say("login-message", "");
  $("login-panel").hidden = true;
  $("counter-panel").hidden = false;
  $("logout").hidden = false;
  listen();
  refreshStatus();
  refreshCustomer();
  clearInterval(state.poll);
  state.poll = setInterval(refreshStatus, 5000);
  $("amount").focus();
}

function loggedOut() {
  state.csrf = null;
  if (state.events) state.events.close();
  state.events = null;
  clearInterval(state.poll);
  $("counter-panel").hidden = true;
  $("logout").hidden = true;
  $("banner").hidden = true;
  $("login-panel").hidden = false;
  $("secret").focus();
}

async function logOut() {
  await api("DELETE", "/v1/counter/session");
  loggedOut();
}

// --- the event stream ------------------------------------------------------------------

function listen() {
  if (state.events) state.events.close();
  const source = new EventSource("/v1/events");
  const on = (kind, handle) => source.addEventListener(kind, (event) => {
    let data = {};
    try { data = JSON.parse(event.data); } catch { return; }
    handle(data);
  });
  on("scan", (data) => say("customer-message", t("scanned", { tail: tail(data.card_tail) })));
  // the customer first (name, card), then again with the balance and rewards when read
  on("customer_identified", showCustomer);
  on("customer", showCustomer);
  on("customer_cleared", () => showCustomer(null));
  on("customer_refused", (data) => {
    showCustomer(null);
    if (data.offer === "hand_out_card") {
      $("hand-out").open = true;
      say("customer-message", t("unregistered"), "bad");
      $("hand-out-email").focus();
    } else {
      say("customer-message", t("refused_card", { reason: data.reason ?? "" }), "bad");
    }
  });
  on("giftcard", (data) => {
    $("giftcard").open = true;
    say("tools-message", t("giftcard_seen", { tail: tail(data.card_tail), balance: money(data.balance ?? 0) }));
  });
  on("giftcard_refused", (data) => say("tools-message", data.reason ?? t("err_unknown"), "bad"));
  on("printer", refreshStatus);
  on("operation", (data) => { settled(data); refreshStatus(); });
  on("gap", () => { refreshCustomer(); refreshStatus(); });
  // EventSource reconnects by itself (with Last-Event-ID); the status says whether the
  // agent is away or the session ended (a 401 there shows the login).
  source.onerror = () => refreshStatus();
  // The stream starts with the next event: what happened before it opened is read once.
  source.onopen = () => refreshCustomer();
  state.events = source;
}

// --- the till's health -----------------------------------------------------------------

async function refreshStatus() {
  if (!state.csrf) return;
  const result = await api("GET", "/v1/status");
  const troubles = [];
  if (!result.ok) {
    if (result.status === 0) troubles.push(t("banner_agent"));
  } else {
    const status = result.data;
    if (status.register_api === "unreachable") troubles.push(t("banner_offline"));
    if (status.register_api === "key_refused") troubles.push(t("banner_key"));
    const printer = String(status.printer ?? "");
    const printerState = printer.split(":")[0].trim();
    if (PRINTER_TROUBLE.includes(printerState)) troubles.push(t("banner_printer", { detail: printerState }));
    if (status.journal && status.journal !== "ok") troubles.push(t("banner_journal"));
  }
  const banner = $("banner");
  banner.replaceChildren(...troubles.map((text) => {
    const line = document.createElement("p");
    line.textContent = text;
    return line;
  }));
  banner.hidden = troubles.length === 0;
}

// --- the keyboard and the keypad ---------------------------------------------------------

function keypad(key) {
  const amount = $("amount");
  if (key === "back") amount.value = amount.value.slice(0, -1);
  else amount.value += key;
  amount.focus();
}

function onKey(event) {
  if (state.confirming) {
    if (event.key === "Enter") { event.preventDefault(); sell(true); }
    if (event.key === "Escape") { event.preventDefault(); correctAmount(); }
    return;
  }
  if (event.target === $("amount") && event.key === "Enter") {
    event.preventDefault();
    sell(false);
    return;
  }
  // a digit typed anywhere outside a field goes into the amount
  const inField = ["INPUT", "TEXTAREA", "SELECT"].includes(event.target.tagName);
  if (!inField && !$("counter-panel").hidden && /^[0-9.,]$/.test(event.key)) {
    event.preventDefault();
    keypad(event.key === "," ? "." : event.key);
  }
}

function setLanguage(language) {
  state.language = TEXTS[language] ? language : "en";
  localStorage.setItem("counter-language", state.language);  // a preference, no secret
  translate();
}

async function start() {
  const chosen = localStorage.getItem("counter-language");
  setLanguage(chosen || document.documentElement.dataset.language || "en");
  $("language").addEventListener("click", () => setLanguage(state.language === "en" ? "nl" : "en"));
  $("logout").addEventListener("click", logOut);
  $("login-form").addEventListener("submit", logIn);
  $("sell").addEventListener("click", () => sell(false));
  $("confirm-yes").addEventListener("click", () => sell(true));
  $("confirm-no").addEventListener("click", correctAmount);
  $("clear-customer").addEventListener("click", clearCustomer);
  $("find-form").addEventListener("submit", find);
  $("hand-out-form").addEventListener("submit", handOut);
  $("giftcard-form").addEventListener("submit", payWithGiftcard);
  $("voucher-form").addEventListener("submit", checkVoucher);
  for (const key of document.querySelectorAll("#keypad button")) {
    key.addEventListener("click", () => keypad(key.dataset.key));
  }
  document.addEventListener("keydown", onKey);
  // The CSRF token lives in this script's memory only: a reloaded page asks the agent for
  // it again with its cookie (which another site's page can neither send nor read).
  const session = await api("GET", "/v1/counter/session");
  if (session.ok && session.data && session.data.csrf_token) startSession(session.data.csrf_token);
  else loggedOut();
}

document.addEventListener("DOMContentLoaded", start);
