// The counter page's desks: the customer and their rewards, the sale (with the confirm
// rule), the last sales' refunds and voids, customers without their card, giftcards.
// Each is one route of the local API; counter.js holds the state, the talking and the login.
"use strict";

// --- the customer ----------------------------------------------------------------------

function tail(value) {
  return value ? "•••• " + String(value).slice(-4) : "";
}

// The name from the program's own attributes; the e-mail only when it is the one the
// cashier typed (the event of the same customer may come before or after the answer).
function customerName(customer) {
  const attributes = customer.attributes || {};
  const first = attributes.firstname || attributes.first_name || attributes.name || "";
  const last = attributes.lastname || attributes.last_name || "";
  const name = [first, last].filter(Boolean).join(" ");
  const typed = state.email && String(customer.display || "").toLowerCase() === state.email.toLowerCase();
  return name || (typed ? state.email : t("a_customer"));
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
  if (state.selling) return;  // Enter held down, or Enter on a focused button: one sale
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
  state.selling = true;
  $("sell").disabled = true;
  const held = await lockVoucher(state.pending.sale_id);  // vouchers.js
  const result = held ? await api("POST", "/v1/sales", body) : null;
  $("sell").disabled = false;
  state.selling = false;
  if (!result) return;
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
  say("sale-result", saleText(amount, answer) + voucherSold(), "good");
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
