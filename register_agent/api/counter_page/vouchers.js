// The counter page's vouchers: a voucher the cashier checked (POST /v1/vouchers/check) is
// locked for the next sale just before that sale is posted (POST /v1/vouchers/locks, by
// desk.js's sell()), and the till redeems it once the sale is recorded; voiding the sale
// releases it. The code is a bearer secret: typed into a password field, never shown.
"use strict";

async function checkVoucher(event) {
  event.preventDefault();
  const code = $("voucher-code").value.trim();
  state.voucher = null;
  if (!code) return say("voucher-result", "");
  const result = await api("POST", "/v1/vouchers/check", { code });
  if (!result.ok) {
    $("voucher-code").value = "";
    return say("voucher-result", problemText(result), "bad");
  }
  const voucher = result.data;
  if (!voucher.usable) {
    $("voucher-code").value = "";
    return say("voucher-result", t("voucher_not", { name: voucher.name, reason: voucher.reason }), "bad");
  }
  state.voucher = { code, name: voucher.name };
  say("voucher-result", t("voucher_ok", { name: voucher.name }), "good");
  $("amount").focus();
}

// Before the sale is posted: hold the voucher for it. False (the page says why) when it
// cannot be held; the sale is then not posted, so the cashier decides without it.
async function lockVoucher(saleId) {
  if (!state.voucher) return true;
  const body = { code: state.voucher.code, sale_id: saleId };
  const result = await api("POST", "/v1/vouchers/locks", body);
  if (result.ok) return true;
  say("voucher-result", problemText(result), "bad");
  if (result.status >= 400 && result.status < 500) forgetVoucher();
  return false;
}

// After the sale: the voucher went with it (the words added to the sale's line).
function voucherSold() {
  if (!state.voucher) return "";
  const text = " " + t("voucher_taken", { name: state.voucher.name });
  forgetVoucher();
  say("voucher-result", "");
  return text;
}

function forgetVoucher() {
  state.voucher = null;
  $("voucher-code").value = "";
}
