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
  const key = newKey();
  const fields = h("div", { class: "action-fields" });
  const preview = h("div", { class: "action-preview", "aria-live": "polite" });
  const error = h("p", { class: "action-error", role: "alert", hidden: true });
  const check = h("button", { type: "submit", class: "secondary", "data-step": "check" }, "Check the change");
  const confirm = h("button", { type: "button", class: "primary", "data-step": "confirm", disabled: true }, "Confirm");
  const form = h("form", { method: "dialog", class: "action-form" }, fields, preview, error);
  const dialog = h(
    "dialog",
    { class: "action-dialog", "aria-labelledby": "action-title" },
    h("h2", { id: "action-title" }, `${option.label} · order ${order.number}`),
    h("p", { class: "muted" }, `${order.summary} · ${order.total} · ${order.status.replaceAll("_", " ")}`),
    form,
  );
  let checked = null; // the request the shown preview is for

  const read = build(option, fields);
  const showError = (text) => {
    error.textContent = text;
    error.hidden = !text;
  };
  const invalidate = () => {
    checked = null;
    confirm.disabled = true;
    replace(preview);
  };
  form.addEventListener("input", invalidate);
  form.addEventListener("change", invalidate);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    showError("");
    if (!form.reportValidity()) return;
    const body = { kind: option.kind, order_number: order.number, ...read() };
    check.disabled = true;
    try {
      const planned = await request(`${conversationPath(conversationId)}/actions/preview`, { method: "POST", body });
      checked = planned.request;
      showPreview(preview, planned);
      confirm.disabled = false;
      confirm.focus();
    } catch (failure) {
      showError(failure.message || "The change could not be checked. Try again.");
    } finally {
      check.disabled = false;
    }
  });
  confirm.addEventListener("click", async () => {
    if (!checked) return;
    confirm.disabled = true;
    showError("");
    try {
      const done = await request(`${conversationPath(conversationId)}/actions`, {
        method: "POST",
        body: checked,
        headers: { "Idempotency-Key": key },
      });
      dialog.close();
      onDone(done);
    } catch (failure) {
      showError(refusedWords(failure));
      if (failure instanceof ApiError && failure.status >= 500) confirm.disabled = false; // safe to retry: same key
    }
  });
  form.append(
    h(
      "div",
      { class: "dialog-foot" },
      h("button", { type: "button", class: "link", onclick: () => dialog.close() }, "Close"),
      check,
      confirm,
    ),
  );
  dialog.addEventListener("close", () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
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
  const inputs = ADDRESS_FIELDS.map(([name, label, required]) =>
    h("input", { name, required, value: option.address?.[name] ?? "", autocomplete: "off", "aria-label": label }),
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
    return { item, box, more, row: h("div", { class: "item-row" }, h("label", {}, box, ` ${item.label} · ${item.price}`), more?.label) };
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

const words = (status) => status.replaceAll("_", " ");
