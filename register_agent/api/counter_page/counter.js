// The counter page: a cashier's screen over the till's local API (the same routes a POS
// calls). It logs in once for a session cookie; the CSRF token it gets back lives in this
// script's memory only (never in storage), and the page never shows a full card number,
// an e-mail the cashier did not type, or the token.
"use strict";

const TEXTS = {
  en: {
    title: "Counter", switch_language: "Nederlands", log_out: "Log out",
    login_label: "The till's token or the counter PIN", log_in: "Log in",
    login_wrong: "That token or PIN is not right. Try again, or ask the manager.",
    login_busy: "Too many tries. Wait a minute, then try again.",
    customer: "Customer", no_customer: "No card scanned: scan the customer's card.",
    card: "Card", balance: "Balance", points: "points", a_customer: "Customer",
    customer_offline: "Offline: the points are added once the loyalty service answers.",
    clear_customer: "Not this customer", scanned: "Card {tail} scanned, looking it up…",
    claim: "Claim {title} ({credits} points)", needs: "{title}: {credits} points",
    claimed: "Reward claimed: {title}. New balance: {balance}.", claimed_code: "Code: {code}",
    refused_card: "This card cannot collect points: {reason}",
    unregistered: "This card is new: ask the customer's e-mail and hand it out below.",
    sale: "Sale", amount_label: "Amount, then Enter", sell: "Enter: record the sale",
    amount_invalid: "Type the amount like 12.50.",
    confirm_question: "Did you mean {amount}?", confirm_yes: "Yes (Enter)",
    confirm_no: "No, correct it (Esc)",
    credited: "+{credits} points. Balance: {balance}.",
    credited_no_balance: "+{credits} points.",
    pending: "Points will be added.", qr: "No card: the customer scans the QR code on the receipt.",
    no_loyalty: "No points for this sale.", printing: "The receipt is printing.",
    pos_prints: "The receipt shows the points.", recorded: "Sale {amount} recorded.",
    notice_card_locked: "This card earned points moments ago: this sale is recorded without points.",
    last_sales: "Last sales", no_sales: "No sales yet on this page.",
    refund: "Refund", refund_part: "Refund part", void: "Void", part_amount: "Amount to refund",
    refunded: "Refund of sale {amount} recorded: the points are taken back.",
    voided: "Sale {amount} voided: the points are taken back.",
    find_title: "Find a customer by e-mail", email: "E-mail", find: "Find",
    found: "The next sale is for {email}.",
    hand_out_title: "Hand out a new card", new_card: "Card number (empty: the card just scanned)",
    hand_out: "Hand out", handed_out: "Card handed out to {email}. The welcome slip is printing.",
    giftcard_title: "Pay with a giftcard", giftcard_card: "Giftcard (scan or type)",
    giftcard_amount: "Amount to pay", pay: "Pay",
    giftcard_paid: "Paid {amount} with giftcard {tail}. Left on it: {balance}.",
    giftcard_seen: "Giftcard {tail}: {balance} on it.",
    banner_offline: "The loyalty service cannot be reached. Keep selling: the points are added by themselves when it is back.",
    banner_key: "The loyalty service refuses this till. Keep selling (the points wait) and call the installer.",
    banner_printer: "The printer has a problem ({detail}). Sales are still recorded; the receipts print when it works again: check paper, cover and power.",
    banner_journal: "Points cannot be recorded now. Finish the sale without points and call support.",
    banner_agent: "The till's loyalty agent does not answer. Sell without points and call support if it lasts.",
    err_network: "The till's loyalty agent did not answer. Try again.",
    err_unauthorized: "Logged out. Log in again.",
    err_forbidden: "This page was logged out. Log in again.",
    err_invalid: "Something typed is not right: {fields}.",
    err_amount_too_large: "That amount is above this till's maximum. Check it.",
    err_offline: "The loyalty service cannot be reached now. Try again later.",
    err_other: "That did not work: {message}",
    err_unknown: "That did not work. Try again, or call support.",
  },
  nl: {
    title: "Kassa", switch_language: "English", log_out: "Uitloggen",
    login_label: "Token van de kassa of pincode", log_in: "Inloggen",
    login_wrong: "Dat token of die pincode klopt niet. Probeer opnieuw of vraag de manager.",
    login_busy: "Te vaak geprobeerd. Wacht een minuut en probeer opnieuw.",
    customer: "Klant", no_customer: "Geen kaart gescand: scan de kaart van de klant.",
    card: "Kaart", balance: "Saldo", points: "punten", a_customer: "Klant",
    customer_offline: "Offline: de punten komen erbij zodra de spaardienst antwoordt.",
    clear_customer: "Niet deze klant", scanned: "Kaart {tail} gescand, even zoeken…",
    claim: "Inwisselen: {title} ({credits} punten)", needs: "{title}: {credits} punten",
    claimed: "Beloning ingewisseld: {title}. Nieuw saldo: {balance}.", claimed_code: "Code: {code}",
    refused_card: "Deze kaart kan geen punten sparen: {reason}",
    unregistered: "Deze kaart is nieuw: vraag het e-mailadres en geef hem hieronder uit.",
    sale: "Verkoop", amount_label: "Bedrag, dan Enter", sell: "Enter: verkoop vastleggen",
    amount_invalid: "Typ het bedrag als 12,50.",
    confirm_question: "Bedoelde u {amount}?", confirm_yes: "Ja (Enter)",
    confirm_no: "Nee, verbeteren (Esc)",
    credited: "+{credits} punten. Saldo: {balance}.",
    credited_no_balance: "+{credits} punten.",
    pending: "De punten worden later bijgeschreven.",
    qr: "Geen kaart: de klant scant de QR-code op de bon.",
    no_loyalty: "Geen punten voor deze verkoop.", printing: "De bon wordt geprint.",
    pos_prints: "De bon toont de punten.", recorded: "Verkoop van {amount} vastgelegd.",
    notice_card_locked: "Deze kaart spaarde net al punten: deze verkoop is vastgelegd zonder punten.",
    last_sales: "Laatste verkopen", no_sales: "Nog geen verkopen op deze pagina.",
    refund: "Terugbetalen", refund_part: "Deel terug", void: "Annuleren",
    part_amount: "Bedrag terug",
    refunded: "Terugbetaling van {amount} vastgelegd: de punten gaan eraf.",
    voided: "Verkoop van {amount} geannuleerd: de punten gaan eraf.",
    find_title: "Klant zoeken op e-mail", email: "E-mail", find: "Zoeken",
    found: "De volgende verkoop is voor {email}.",
    hand_out_title: "Nieuwe kaart uitgeven",
    new_card: "Kaartnummer (leeg: de kaart die net is gescand)",
    hand_out: "Uitgeven", handed_out: "Kaart uitgegeven aan {email}. De welkomstbon wordt geprint.",
    giftcard_title: "Betalen met cadeaukaart", giftcard_card: "Cadeaukaart (scannen of typen)",
    giftcard_amount: "Te betalen bedrag", pay: "Betalen",
    giftcard_paid: "{amount} betaald met cadeaukaart {tail}. Nog op de kaart: {balance}.",
    giftcard_seen: "Cadeaukaart {tail}: {balance} op de kaart.",
    banner_offline: "De spaardienst is niet bereikbaar. Verkoop gewoon door: de punten komen er vanzelf bij als hij terug is.",
    banner_key: "De spaardienst weigert deze kassa. Verkoop door (de punten wachten) en bel de installateur.",
    banner_printer: "De printer heeft een probleem ({detail}). Verkopen worden vastgelegd; de bonnen printen als hij weer werkt: kijk papier, klep en stroom na.",
    banner_journal: "Punten kunnen nu niet worden vastgelegd. Rond de verkoop af zonder punten en bel support.",
    banner_agent: "Het spaarprogramma van de kassa antwoordt niet. Verkoop zonder punten en bel support als het blijft.",
    err_network: "Het spaarprogramma van de kassa antwoordde niet. Probeer opnieuw.",
    err_unauthorized: "Uitgelogd. Log opnieuw in.",
    err_forbidden: "Deze pagina is uitgelogd. Log opnieuw in.",
    err_invalid: "Iets klopt niet in wat is getypt: {fields}.",
    err_amount_too_large: "Dat bedrag is hoger dan het maximum van deze kassa. Controleer het.",
    err_offline: "De spaardienst is nu niet bereikbaar. Probeer het later.",
    err_other: "Dat lukte niet: {message}",
    err_unknown: "Dat lukte niet. Probeer opnieuw of bel support.",
  },
};
const PRINTER_TROUBLE = ["paper out", "cover open", "offline", "no reply"];
const KEPT_SALES = 5;

const state = {
  language: "en", csrf: null, events: null, poll: null, customer: null, email: null,
  pending: null, confirming: false, sales: [],
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
  // A PIN is what a person types at a till: digits only, short. The till's token is long
  // and never digits only (the agent generates url-safe base64 of 32 bytes).
  const body = /^\d{1,12}$/.test(secret) ? { pin: secret } : { token: secret };
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
  on("customer", (data) => { state.email = null; showCustomer(data); });
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

// --- the customer ----------------------------------------------------------------------

function tail(value) {
  return value ? "•••• " + String(value).slice(-4) : "";
}

// The name from the program's own attributes; the e-mail only when the cashier typed it.
function customerName(customer) {
  const attributes = customer.attributes || {};
  const first = attributes.firstname || attributes.first_name || attributes.name || "";
  const last = attributes.lastname || attributes.last_name || "";
  const name = [first, last].filter(Boolean).join(" ");
  return name || state.email || t("a_customer");
}

async function refreshCustomer() {
  const result = await api("GET", "/v1/customer");
  if (result.ok) showCustomer(result.status === 204 ? null : result.data);
}

function showCustomer(customer) {
  state.customer = customer;
  say("customer-message", "");
  renderCustomer();
}

function renderCustomer() {
  const customer = state.customer;
  $("customer-none").hidden = Boolean(customer);
  $("customer-card").hidden = !customer;
  const rewards = $("rewards");
  rewards.replaceChildren();
  if (!customer) return;
  $("customer-name").textContent = customerName(customer);
  $("customer-tail").textContent = tail(customer.card_tail);
  $("customer-balance").textContent =
    customer.balance === null || customer.balance === undefined ? "–" : `${customer.balance} ${t("points")}`;
  $("customer-offline").hidden = !customer.offline;
  for (const reward of customer.rewards || []) {
    const claimable = reward.claimable && (customer.balance ?? 0) >= reward.required_credits;
    const values = { title: reward.title, credits: reward.required_credits };
    if (claimable) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "reward";
      button.dataset.reward = reward.key;
      button.textContent = t("claim", values);
      button.addEventListener("click", () => claim(reward));
      rewards.append(button);
    } else {
      const line = document.createElement("p");
      line.className = "reward-later";
      line.textContent = t("needs", values);
      rewards.append(line);
    }
  }
}

async function claim(reward) {
  const result = await api("POST", "/v1/rewards/claims", { claim_id: newId("C"), reward_key: reward.key });
  if (!result.ok) return say("customer-message", problemText(result), "bad");
  const answer = result.data;
  if (state.customer && answer.balance !== null) {
    state.customer = { ...state.customer, balance: answer.balance };
    renderCustomer();
  }
  const lines = [t("claimed", { title: answer.title, balance: answer.balance ?? "–" })];
  if (answer.code) lines.push(t("claimed_code", { code: answer.code }));
  say("customer-message", lines.join(" "), "good");
}

async function clearCustomer() {
  const result = await api("DELETE", "/v1/customer");
  if (!result.ok) return say("customer-message", problemText(result), "bad");
  showCustomer(null);
}

// --- the sale --------------------------------------------------------------------------

async function sell(confirmed) {
  const amount = plainAmount($("amount").value);
  if (!amount) {
    say("sale-result", t("amount_invalid"), "bad");
    return;
  }
  // The same sale id until the till answers: a sale sent again after a lost answer is
  // the same sale, answered once (the till's idempotency key).
  if (!state.pending || state.pending.amount !== amount) {
    state.pending = { sale_id: newId("S"), amount };
  }
  const body = { sale_id: state.pending.sale_id, amount };
  if (confirmed) body.confirmed = true;
  $("sell").disabled = true;
  const result = await api("POST", "/v1/sales", body);
  $("sell").disabled = false;
  if (!result.ok && result.code === "amount_needs_confirmation") {
    askToConfirm(amount);
    return;
  }
  hideConfirm();
  if (!result.ok) {
    if (result.status >= 400 && result.status < 500) state.pending = null;
    say("sale-result", problemText(result), "bad");
    return;
  }
  state.pending = null;
  $("amount").value = "";
  const answer = result.data;
  state.sales.unshift({ sale_id: answer.sale_id, amount, loyalty: answer.loyalty, closed: null });
  state.sales.length = Math.min(state.sales.length, KEPT_SALES);
  renderSales();
  say("sale-result", saleText(amount, answer), "good");
  showCustomer(null);
  refreshStatus();
  $("amount").focus();
}

function saleText(amount, answer) {
  const loyalty = answer.loyalty;
  const parts = [t("recorded", { amount: money(amount) })];
  if (loyalty.state === "credited") {
    parts.push(loyalty.balance === null
      ? t("credited_no_balance", { credits: loyalty.credits })
      : t("credited", { credits: loyalty.credits, balance: loyalty.balance }));
  } else if (loyalty.state === "pending") parts.push(t("pending"));
  else if (loyalty.state === "qr") parts.push(t("qr"));
  else parts.push(t("no_loyalty"));
  if (loyalty.notice) {
    const key = `notice_${loyalty.notice.code}`;
    parts.push(TEXTS[state.language][key] ? t(key) : loyalty.notice.message);
  }
  parts.push(answer.receipt === "printing" ? t("printing") : t("pos_prints"));
  return parts.join(" ");
}

function askToConfirm(amount) {
  state.confirming = true;
  $("confirm-question").textContent = t("confirm_question", { amount: money(amount) });
  $("confirm").hidden = false;
  $("confirm-yes").focus();
}

function hideConfirm() {
  state.confirming = false;
  $("confirm").hidden = true;
}

function correctAmount() {
  hideConfirm();
  state.pending = null;
  $("amount").focus();
  $("amount").select();
}

// A sale's credits came later (the answer said "points will be added"): the list shows them.
function settled(operation) {
  const sale = state.sales.find((s) => s.sale_id === operation.sale_id);
  if (sale && operation.kind === "credit_reception" && operation.state === "done" && operation.credits !== null) {
    sale.loyalty = { ...sale.loyalty, state: "credited", credits: operation.credits };
    renderSales();
  }
}

// --- after the sale --------------------------------------------------------------------

function renderSales() {
  const list = $("sales-list");
  list.replaceChildren();
  $("last-sales-none").hidden = state.sales.length > 0;
  for (const sale of state.sales) {
    const item = document.createElement("li");
    item.dataset.sale = sale.sale_id;
    const label = document.createElement("span");
    const credits = sale.loyalty.state === "credited" ? ` (+${sale.loyalty.credits} ${t("points")})` : "";
    label.textContent = money(sale.amount) + credits + (sale.closed ? ` · ${t(sale.closed)}` : "");
    item.append(label);
    if (!sale.closed) {
      item.append(
        button(t("refund"), "refund", () => refund(sale, null)),
        button(t("refund_part"), "refund-part", () => askPart(item, sale)),
        button(t("void"), "void", () => voidSale(sale)),
      );
    }
    list.append(item);
  }
}

function button(text, action, onClick) {
  const element = document.createElement("button");
  element.type = "button";
  element.className = "small";
  element.dataset.action = action;
  element.textContent = text;
  element.addEventListener("click", onClick);
  return element;
}

function askPart(item, sale) {
  if (item.querySelector("input")) return;
  const input = document.createElement("input");
  input.inputMode = "decimal";
  input.setAttribute("aria-label", t("part_amount"));
  input.placeholder = t("part_amount");
  input.addEventListener("keydown", (event) => {
    if (event.key !== "Enter") return;
    event.preventDefault();
    event.stopPropagation();
    const amount = plainAmount(input.value);
    if (!amount) return say("sales-message", t("amount_invalid"), "bad");
    refund(sale, amount);
  });
  item.append(input);
  input.focus();
}

async function refund(sale, amount) {
  // Each refund has its own id, kept until the till answers it: pressed again after a lost
  // answer, the same refund is answered once (a part refund needs one: the sale stays open
  // after it). Once answered, another part of the same amount is another refund.
  const key = amount || "whole";
  if (!sale.refunds) sale.refunds = {};
  if (!sale.refunds[key]) sale.refunds[key] = newId("R");
  const body = amount ? { refund_id: sale.refunds[key], amount } : { refund_id: sale.refunds[key] };
  const result = await api("POST", `/v1/sales/${encodeURIComponent(sale.sale_id)}/refund`, body);
  if (!result.ok) return say("sales-message", problemText(result), "bad");
  if (amount) delete sale.refunds[key];
  else sale.closed = "refund";
  renderSales();
  say("sales-message", t("refunded", { amount: money(amount || sale.amount) }), "good");
}

async function voidSale(sale) {
  const result = await api("POST", `/v1/sales/${encodeURIComponent(sale.sale_id)}/void`);
  if (!result.ok) return say("sales-message", problemText(result), "bad");
  sale.closed = "void";
  renderSales();
  say("sales-message", t("voided", { amount: money(sale.amount) }), "good");
}

// --- customers without their card, giftcards ---------------------------------------------

async function find(event) {
  event.preventDefault();
  const email = $("find-email").value.trim();
  const result = await api("POST", "/v1/customer", { email });
  if (!result.ok) return say("tools-message", problemText(result), "bad");
  state.email = email;
  showCustomer(result.data);
  $("find-email").value = "";
  say("tools-message", t("found", { email }), "good");
  $("amount").focus();
}

async function handOut(event) {
  event.preventDefault();
  const email = $("hand-out-email").value.trim();
  const card = $("hand-out-card").value.trim();
  const result = await api("POST", "/v1/cards", card ? { email, card } : { email });
  $("hand-out-card").value = "";
  if (!result.ok) return say("tools-message", problemText(result), "bad");
  state.email = email;
  showCustomer(result.data.customer);
  $("hand-out-email").value = "";
  say("tools-message", t("handed_out", { email }), "good");
  $("amount").focus();
}

async function payWithGiftcard(event) {
  event.preventDefault();
  const amount = plainAmount($("giftcard-amount").value);
  if (!amount) return say("tools-message", t("amount_invalid"), "bad");
  const card = $("giftcard-card").value.trim();
  const result = await api("POST", "/v1/giftcards/payments", { payment_id: newId("G"), card, amount });
  $("giftcard-card").value = "";
  if (!result.ok) return say("tools-message", problemText(result), "bad");
  const answer = result.data;
  $("giftcard-amount").value = "";
  say("tools-message", t("giftcard_paid", {
    amount: money(answer.amount), tail: tail(answer.card_tail),
    balance: answer.balance === null ? "–" : money(answer.balance),
  }), "good");
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

function start() {
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
  for (const key of document.querySelectorAll("#keypad button")) {
    key.addEventListener("click", () => keypad(key.dataset.key));
  }
  document.addEventListener("keydown", onKey);
  // The CSRF token lives in this script's memory only, so a reloaded page logs in again
  // (its cookie alone may read, never change, anything).
  loggedOut();
}

document.addEventListener("DOMContentLoaded", start);
