// The dialog an operator acts on an order through: fill in what the action needs, check the exact
// change and what money moves (the server's preview, under the shop's policy), then confirm.
// Confirming sends the dialog's own Idempotency-Key, so a double click or a retry does it once.
// Changing anything after the check asks for a new check before it can be confirmed.
import { request, conversationPath, newKey, ApiError } from "./api.js";
import { h, replace } from "./dom.js";

const ADDRESS_FIELDS = [
  ["line1", "Street and number", true],
  ["line2", "Flat, suite (optional)", false],
  ["city", "City", true],
  ["state", "State or region (optional)", false],
  ["zip", "Postcode", true],
  ["country", "Country", true],
];

// Opens the dialog for one action (`option`, as the customer card lists it) on `order`;
// `onDone(result)` gets the server's answer once the action is done.
export function openActionDialog({ conversationId, order, option, onDone }) {
  const ui = layout(order, option);
  const state = {
    path: `${conversationPath(conversationId)}/actions`,
    key: newKey(),
    read: build(option, ui.fields),
    checked: null, // the request the preview shown is for
  };
  const invalidate = () => {
    state.checked = null;
    ui.confirm.disabled = true;
    replace(ui.preview);
  };
  ui.form.addEventListener("input", invalidate);
  ui.form.addEventListener("change", invalidate);
  ui.form.addEventListener("submit", (event) => {
    event.preventDefault();
    checkChange(ui, state, { kind: option.kind, order_number: order.number });
  });
  ui.confirm.addEventListener("click", () => confirmChange(ui, state, onDone));
  ui.dialog.addEventListener("close", () => ui.dialog.remove());
  document.body.append(ui.dialog);
  ui.dialog.showModal();
}

function layout(order, option) {
  const ui = {
    fields: h("div", { class: "action-fields" }),
    preview: h("div", { class: "action-preview", "aria-live": "polite" }),
    error: h("p", { class: "action-error", role: "alert", hidden: true }),
    check: h("button", { type: "submit", class: "secondary", "data-step": "check" }, "Check the change"),
    confirm: h("button", { type: "button", class: "primary", "data-step": "confirm", disabled: true }, "Confirm"),
  };
  const close = h("button", { type: "button", class: "link", onclick: () => ui.dialog.close() }, "Close");
  ui.form = h(
    "form",
    { method: "dialog", class: "action-form" },
    ui.fields,
    ui.preview,
    ui.error,
    h("div", { class: "dialog-foot" }, close, ui.check, ui.confirm),
  );
  ui.dialog = h(
    "dialog",
    { class: "action-dialog", "aria-labelledby": "action-title" },
    h("h2", { id: "action-title" }, `${option.label} · order ${order.number}`),
    h("p", { class: "muted" }, `${order.summary} · ${order.total} · ${words(order.status)}`),
    ui.form,
  );
  return ui;
}

function showError(ui, text) {
  ui.error.textContent = text;
  ui.error.hidden = !text;
}

// The server's preview of the request as the form now says it.
async function checkChange(ui, state, target) {
  showError(ui, "");
  if (!ui.form.reportValidity()) return;
  ui.check.disabled = true;
  try {
    const body = { ...target, ...state.read() };
    const planned = await request(`${state.path}/preview`, { method: "POST", body });
    state.checked = planned.request;
    showPreview(ui.preview, planned);
    ui.confirm.disabled = false;
    ui.confirm.focus();
  } catch (failure) {
    showError(ui, failure.message || "The change could not be checked. Try again.");
  } finally {
    ui.check.disabled = false;
  }
}

async function confirmChange(ui, state, onDone) {
  if (!state.checked) return;
  ui.confirm.disabled = true;
  showError(ui, "");
  try {
    const done = await request(state.path, {
      method: "POST",
      body: state.checked,
      headers: { "Idempotency-Key": state.key },
    });
    ui.dialog.close();
    onDone(done);
  } catch (failure) {
    showError(ui, refusedWords(failure));
    // Safe to try again: the same key cannot do it twice.
    if (!(failure instanceof ApiError) || failure.status >= 500) ui.confirm.disabled = false;
  }
}

function refusedWords(failure) {
  if (failure instanceof ApiError && failure.status === 409) return `Not done: ${failure.message}`;
  return failure.message || "The action could not be done. Try again.";
}

// The inputs the action needs; returns a function reading them into the request's fields.
function build(option, fields) {
  switch (option.kind) {
    case "cancel":
      return cancelFields(option, fields);
    case "change_address":
      return addressFields(option, fields);
    case "return":
      return returnFields(option, fields);
    default:
      return swapFields(option, fields); // change_items, exchange
  }
}

function select(name, label, choices, { optional = null } = {}) {
  const el = h(
    "select",
    { name, required: optional === null },
    optional === null ? null : h("option", { value: "" }, optional),
    choices.map((c) => h("option", { value: c.id ?? c }, c.label ?? c)),
  );
  return [h("label", {}, label, el), el];
}

function cancelFields(option, fields) {
  const [label, reason] = select("reason", "Reason", option.reasons);
  replace(fields, label);
  return () => ({ reason: reason.value });
}

function addressFields(option, fields) {
  const inputs = ADDRESS_FIELDS.map(([name, , required]) =>
    h("input", { name, required, value: option.address?.[name] ?? "", autocomplete: "off" }),
  );
  replace(
    fields,
    h(
      "fieldset",
      { class: "address" },
      h("legend", {}, "New address"),
      ADDRESS_FIELDS.map(([, label], i) => h("label", {}, label, inputs[i])),
    ),
  );
  return () => ({
    address: Object.fromEntries(inputs.map((input) => [input.name, input.value.trim() || null])),
  });
}

function itemBoxes(items, extra = () => null) {
  return items.map((item) => {
    const box = h("input", { type: "checkbox", name: "item", value: item.id });
    const more = extra(item, box);
    const row = h("div", { class: "item-row" }, h("label", {}, box, ` ${item.label} · ${item.price}`), more?.label);
    return { item, box, more, row };
  });
}

function returnFields(option, fields) {
  const rows = itemBoxes(option.items);
  const [label, refund] = select("refund_to", "Refund to", option.refund_to);
  replace(fields, h("fieldset", {}, h("legend", {}, "Items to return"), rows.map((r) => r.row)), label);
  return () => ({
    item_ids: rows.filter((r) => r.box.checked).map((r) => r.item.id),
    payment_method_id: refund.value,
  });
}

function swapFields(option, fields) {
  const rows = itemBoxes(option.items, (item, box) => {
    const [label, variant] = select(`variant-${item.id}`, "becomes", item.variants);
    variant.disabled = true;
    box.addEventListener("change", () => {
      variant.disabled = !box.checked;
    });
    return { label, variant };
  });
  const [label, method] = select("payment_method_id", "A price difference is paid or refunded with", option.payment_methods, {
    optional: "— choose if the price changes —",
  });
  replace(fields, h("fieldset", {}, h("legend", {}, "Items to change"), rows.map((r) => r.row)), label);
  return () => {
    const chosen = rows.filter((r) => r.box.checked);
    return {
      item_ids: chosen.map((r) => r.item.id),
      new_variant_ids: chosen.map((r) => r.more.variant.value),
      payment_method_id: method.value || null,
    };
  };
}

function showPreview(preview, planned) {
  const moves = planned.money.length
    ? h(
        "ul",
        { class: "money" },
        planned.money.map((m) => h("li", {}, `${m.kind === "refund" ? "Refund" : "Charge"} ${m.amount} to ${m.method}`)),
      )
    : h("p", {}, "No money moves now.");
  replace(
    preview,
    h("p", { class: "preview-summary" }, planned.summary),
    h(
      "dl",
      { class: "preview-facts" },
      h("dt", {}, "Order status"),
      h("dd", {}, `${words(planned.status_before)} → ${words(planned.status_after)}`),
      h("dt", {}, "Money"),
      h("dd", {}, moves),
    ),
    h("p", { class: "muted" }, "The customer isn't messaged: tell them in your reply."),
  );
}

function words(status) {
  return status.replaceAll("_", " ");
}
