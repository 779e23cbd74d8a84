// The visual step builder of a drip campaign: the steps drawn as a flow (a
// condition's yes and no branches as two lanes under it), a form made for
// each step kind, buttons and keys (Alt+Up / Alt+Down) to move a step and a
// JSON view that round-trips with the form. The kinds, their fields and
// their checks are the server's (GET /api/campaigns/step-kinds, POST
// .../steps): a refused save shows the server's message beside the field it
// names ("steps[2].config.url ..."). Every value is inserted as text.
//
// The model is a tree: a lane is a list of steps where each goes on to the
// one after it, and a condition ends its lane with a lane for each branch.
// The step list the API takes is that tree written depth first, with every
// reference explicit; a list that is not such a tree (two steps going to the
// same one) can still be edited and saved as JSON.
import { h, replace } from "../dom.js";

const SECRET_MASK = "********";
const UNITS = [["60000", "minutes"], ["3600000", "hours"], ["86400000", "days"]];
const CONDITIONS = [
  ["opened", "the last email was opened", null],
  ["clicked", "a link in the last email was clicked", null],
  ["replied", "the contact replied to the last email", null],
  ["score_above", "the score is above", "score"],
  ["score_below", "the score is below", "score"],
  ["has_tag", "the contact has the tag", "tag"],
];
const KIND_LABEL = { email: "Email", wait: "Wait", condition: "Condition", tag: "Tag", score: "Score", webhook: "Webhook" };
const SAMPLE = {
  first_name: "Dana", name: "Dana Reyes", company: "Northwind", email: "dana@example.com",
  unsubscribe_url: "https://example.com/u/…", personalized_intro: "(a first paragraph written for the contact)",
};
const DEFAULTS = {
  email: () => ({ subject: "", body: "Hi {{first_name}},\n\n\n\nUnsubscribe: {{unsubscribe_url}}" }),
  wait: () => ({ duration_ms: 86400000 }),
  condition: () => ({ kind: "opened" }),
  tag: () => ({ add: [] }),
  score: () => ({ delta: 10 }),
  webhook: () => ({ url: "", secret: "" }),
};

let uid = 0;
const nextUid = () => `s${++uid}`;

function node(type, config, id) {
  const n = { uid: nextUid(), id: id || null, type, config: config || DEFAULTS[type]() };
  if (type === "condition") {
    n.yes = [];
    n.no = [];
  }
  return n;
}

// ---- JSON <-> tree -------------------------------------------------------------------------

// The tree of a step list as the API takes or gives it; throws an Error
// saying why when the list is not a tree the form can draw.
export function toTree(list) {
  if (!Array.isArray(list)) throw new Error("the steps must be a JSON array");
  const keys = new Map();
  list.forEach((s, i) => { if (s && typeof s.key === "string") keys.set(s.key, i); });
  const ref = (s, k, i) => {
    const v = s[k];
    if (v === undefined) return k === "next" && i + 1 < list.length ? i + 1 : null;
    if (v === null) return null;
    if (Number.isInteger(v) && v >= 0 && v < list.length) return v;
    if (typeof v === "string" && keys.has(v)) return keys.get(v);
    throw new Error(`steps[${i}].${k} names no step`);
  };
  const seen = new Set();
  const lane = (start) => {
    const out = [];
    for (let i = start; i !== null;) {
      if (seen.has(i)) throw new Error(`step ${i + 1} is reached twice: edit this flow as JSON`);
      seen.add(i);
      const s = list[i];
      if (!s || typeof s !== "object" || !KIND_LABEL[s.type]) throw new Error(`steps[${i}] has no known type`);
      const cfg = s.config && typeof s.config === "object" ? { ...s.config } : {};
      const n = node(s.type, cfg, s.id);
      out.push(n);
      if (s.type === "condition") {
        n.yes = lane(ref(s, "true", i));
        n.no = lane(ref(s, "false", i));
        break;
      }
      i = ref(s, "next", i);
    }
    return out;
  };
  const root = list.length ? lane(0) : [];
  if (seen.size !== list.length) throw new Error("some steps cannot be reached from the first: edit this flow as JSON");
  return root;
}

// The step list of a tree, depth first; each node's uid gets its position in
// order (positions[i] is the uid of steps[i]).
export function fromTree(root, order = []) {
  const list = [];
  const place = (lane) => {
    const at = lane.map((n) => {
      const i = list.length;
      order.push(n.uid);
      const s = { type: n.type, config: n.config };
      if (n.id) s.id = n.id;
      list.push(s);
      if (n.type === "condition") {
        s.true = n.yes.length ? place(n.yes) : null;
        s.false = n.no.length ? place(n.no) : null;
      }
      return i;
    });
    lane.forEach((n, k) => {
      if (n.type !== "condition") list[at[k]].next = k + 1 < lane.length ? at[k + 1] : null;
    });
    return at[0];
  };
  if (root.length) place(root);
  return list;
}

// ---- small form helpers --------------------------------------------------------------------

// A number typed as digits goes to the server as a number, anything else as
// the text typed (the server's message then names the field).
function numOrText(v) {
  const t = String(v).trim();
  return /^-?\d+$/.test(t) ? Number(t) : t;
}

const tagList = (v) => String(v).split(",").map((t) => t.trim()).filter(Boolean);

function field(n, key, text, control, extra) {
  const id = `${n.uid}-${key}`;
  control.id = id;
  const err = h("p", { class: "field-error", id: `${id}-error`, "data-error-for": key, hidden: true });
  control.setAttribute("aria-describedby", `${id}-error`);
  return h("div", { class: "field", "data-key": key }, h("label", { for: id }, text), control, extra || null, err);
}

function setOrDrop(cfg, key, v) {
  if (v === "" || v === undefined || v === null || (Array.isArray(v) && !v.length)) delete cfg[key];
  else cfg[key] = v;
}

// ---- the forms, one per kind ---------------------------------------------------------------

function splitMs(ms) {
  for (const [u] of [...UNITS].reverse()) if (ms && ms % Number(u) === 0) return [String(ms / Number(u)), u];
  return [ms === undefined ? "" : String(ms / 60000), "60000"];
}

function amountUnit(n, key, text, ms, onChange) {
  const [amount, unit] = splitMs(ms);
  const a = h("input", { type: "text", inputmode: "numeric", value: amount, size: 5, "data-part": "amount" });
  const u = h("select", { "aria-label": `${text}: unit`, "data-part": "unit" }, UNITS.map(([v, t]) => h("option", { value: v, selected: v === unit }, t)));
  const write = () => {
    const v = numOrText(a.value);
    onChange(typeof v === "number" ? v * Number(u.value) : v);
  };
  a.addEventListener("input", write);
  u.addEventListener("change", write);
  return field(n, key, text, a, u);
}

const forms = {
  email(n, ctx) {
    const c = n.config;
    const subject = h("input", { type: "text", value: c.subject || "", maxlength: 998 });
    const body = h("textarea", { rows: 7, value: c.body || "" });
    let last = body;
    const preview = h("pre", { class: "email-preview", hidden: true });
    const showPreview = () => {
      const fill = (t) => String(t || "").replace(/\{\{\s*([a-z_]+)\s*\}\}/g, (m, k) => (k in SAMPLE ? SAMPLE[k] : m));
      preview.textContent = `Subject: ${fill(c.subject)}\n\n${fill(c.body)}`;
    };
    subject.addEventListener("input", () => { c.subject = subject.value; if (!preview.hidden) showPreview(); });
    body.addEventListener("input", () => { c.body = body.value; if (!preview.hidden) showPreview(); });
    subject.addEventListener("focus", () => { last = subject; });
    body.addEventListener("focus", () => { last = body; });
    const insert = (name) => {
      const el = last;
      const text = `{{${name}}}`;
      const s = el.selectionStart ?? el.value.length;
      const e = el.selectionEnd ?? el.value.length;
      el.value = el.value.slice(0, s) + text + el.value.slice(e);
      el.focus();
      el.setSelectionRange(s + text.length, s + text.length);
      el.dispatchEvent(new Event("input"));
    };
    const merge = h("div", { class: "merge-fields", role: "group", "aria-label": "Insert a merge field" },
      h("span", { class: "muted small" }, "Insert:"),
      ctx.mergeFields.map((m) => h("button", {
        type: "button", class: "button button-quiet button-small", "data-merge": m, onclick: () => insert(m),
      }, `{{${m}}}`)));
    const toggle = h("button", { type: "button", class: "button button-quiet button-small", "data-action": "preview", "aria-expanded": "false" }, "Preview");
    toggle.addEventListener("click", () => {
      preview.hidden = !preview.hidden;
      toggle.setAttribute("aria-expanded", String(!preview.hidden));
      if (!preview.hidden) showPreview();
    });
    return [field(n, "subject", "Subject", subject), field(n, "body", "Body", body, merge),
      h("div", { class: "preview-row" }, toggle, h("span", { class: "muted small" }, " with a sample contact")), preview];
  },

  wait(n) {
    const c = n.config;
    const mode = h("select", {}, [["", "a fixed time"], ["opened", "the email is opened"], ["clicked", "a link is clicked"], ["replied", "the contact replies"]]
      .map(([v, t]) => h("option", { value: v, selected: (c.until || "") === v }, t)));
    const dur = amountUnit(n, "duration_ms", "Wait for", c.duration_ms, (v) => setOrDrop(c, "duration_ms", v));
    const tmo = amountUnit(n, "timeout_ms", "At most", c.timeout_ms, (v) => setOrDrop(c, "timeout_ms", v));
    const show = () => {
      dur.hidden = !!c.until;
      tmo.hidden = !c.until;
    };
    mode.addEventListener("change", () => {
      if (mode.value) {
        c.until = mode.value;
        if (c.timeout_ms === undefined) c.timeout_ms = c.duration_ms || 86400000 * 3;
        delete c.duration_ms;
        replaceForm(n);
      } else {
        delete c.until;
        if (c.duration_ms === undefined) c.duration_ms = c.timeout_ms || 86400000;
        delete c.timeout_ms;
        replaceForm(n);
      }
    });
    show();
    return [field(n, "until", "Wait until", mode), dur, tmo];
  },

  condition(n) {
    const c = n.config;
    const kind = h("select", {}, CONDITIONS.map(([v, t]) => h("option", { value: v, selected: c.kind === v }, t)));
    const what = () => (CONDITIONS.find(([v]) => v === c.kind) || [])[2];
    const value = h("input", { type: "text", value: c.value === undefined ? "" : String(c.value) });
    const vf = field(n, "value", "Value", value);
    const show = () => {
      vf.hidden = !what();
      value.setAttribute("inputmode", what() === "score" ? "numeric" : "text");
      value.placeholder = what() === "score" ? "0 to 100" : "a tag";
    };
    kind.addEventListener("change", () => {
      c.kind = kind.value;
      if (!what()) delete c.value;
      else c.value = what() === "score" ? numOrText(value.value) : value.value.trim();
      show();
    });
    value.addEventListener("input", () => { c.value = what() === "score" ? numOrText(value.value) : value.value.trim(); });
    show();
    return [field(n, "kind", "If", kind), vf];
  },

  tag(n) {
    const c = n.config;
    const add = h("input", { type: "text", value: (c.add || []).join(", "), placeholder: "engaged, trial" });
    const rm = h("input", { type: "text", value: (c.remove || []).join(", "), placeholder: "cold" });
    add.addEventListener("input", () => setOrDrop(c, "add", tagList(add.value)));
    rm.addEventListener("input", () => setOrDrop(c, "remove", tagList(rm.value)));
    return [field(n, "add", "Add tags (comma-separated)", add), field(n, "remove", "Remove tags", rm)];
  },

  score(n) {
    const c = n.config;
    const d = h("input", { type: "text", inputmode: "numeric", value: c.delta === undefined ? "" : String(c.delta), placeholder: "-100 to 100" });
    d.addEventListener("input", () => setOrDrop(c, "delta", numOrText(d.value)));
    return [field(n, "delta", "Change the score by", d)];
  },

  webhook(n) {
    const c = n.config;
    const stored = c.secretSet === true || c.secret === SECRET_MASK;
    delete c.secretSet;
    if (stored) c.secret = SECRET_MASK;
    const url = h("input", { type: "url", value: c.url || "", placeholder: "https://example.com/hook" });
    const secret = h("input", { type: "password", autocomplete: "new-password", value: "",
      placeholder: stored ? "stored: leave empty to keep it" : "at least 16 characters" });
    url.addEventListener("input", () => { c.url = url.value.trim(); });
    secret.addEventListener("input", () => {
      if (secret.value) c.secret = secret.value;
      else if (stored) c.secret = SECRET_MASK;
      else delete c.secret;
    });
    return [field(n, "url", "URL", url), field(n, "secret", "Signing secret", secret)];
  },
};

function summary(n) {
  const c = n.config;
  switch (n.type) {
    case "email": return c.subject ? `“${c.subject}”` : "";
    case "wait": return c.until ? `until ${c.until}` : "";
    case "condition": return (CONDITIONS.find(([v]) => v === c.kind) || [null, c.kind])[1];
    default: return "";
  }
}

// Swaps a step's form for a fresh one (when its shape changes).
function replaceForm(n) {
  const el = document.querySelector(`[data-uid="${n.uid}"] > .step-form`);
  if (el && el.builderRender) el.builderRender();
}

// ---- the builder ---------------------------------------------------------------------------

// builder({steps, mergeFields, kinds}) -> {el, steps(), showError(message), clearErrors()}.
// steps: the API's step list to start from. The JSON view is #<idPrefix>-steps.
export function stepBuilder({ steps = [], mergeFields = [], kinds = Object.keys(KIND_LABEL), idPrefix = "campaign" } = {}) {
  const ctx = { mergeFields };
  let root = [];
  let jsonOnly = null; // the JSON when the list cannot be drawn
  const flow = h("div", { class: "flow", id: `${idPrefix}-flow`, "aria-label": "Steps" });
  const flowNote = h("p", { class: "status-note muted", role: "status" });
  const text = h("textarea", { id: `${idPrefix}-steps`, name: "steps", rows: 14, spellcheck: "false", class: "code",
    "aria-describedby": `${idPrefix}-steps-help` });
  const apply = h("button", { type: "button", class: "button button-quiet button-small", "data-action": "apply-json" }, "Use this JSON in the form");
  const jsonNote = h("p", { class: "status-note muted", role: "status", id: `${idPrefix}-json-status` });
  const advanced = h("details", { class: "advanced", id: `${idPrefix}-advanced` },
    h("summary", {}, "Advanced: the steps as JSON"),
    h("label", { for: `${idPrefix}-steps` }, "Steps (JSON)"), text,
    h("p", { id: `${idPrefix}-steps-help`, class: "muted small" },
      "An array of {type, config, next?, true?, false?}: references are positions, keys or null (the end)."),
    h("div", { class: "actions" }, apply), jsonNote);

  const findLane = (uid, lane = root) => {
    for (let i = 0; i < lane.length; i++) {
      if (lane[i].uid === uid) return [lane, i];
      if (lane[i].type === "condition") {
        const r = findLane(uid, lane[i].yes) || findLane(uid, lane[i].no);
        if (r) return r;
      }
    }
    return null;
  };

  // A condition ends its lane: it stays last.
  const canMove = (lane, i, d) => {
    const j = i + d;
    if (j < 0 || j >= lane.length) return false;
    return !(lane[i].type === "condition" || lane[j].type === "condition");
  };

  function move(uid, d) {
    const [lane, i] = findLane(uid) || [];
    if (!lane || !canMove(lane, i, d)) return;
    [lane[i], lane[i + d]] = [lane[i + d], lane[i]];
    draw(uid, `[data-action=${d < 0 ? "up" : "down"}]`);
  }

  function remove(uid) {
    const [lane, i] = findLane(uid) || [];
    if (!lane) return;
    lane.splice(i, 1);
    draw();
    const cards = flow.querySelectorAll(".step-card");
    if (cards.length) cards[Math.min(i, cards.length - 1)].querySelector(".step-head button")?.focus();
  }

  function addTo(lane, type) {
    const n = node(type);
    const at = lane.length && lane[lane.length - 1].type === "condition" ? lane.length - 1 : lane.length;
    lane.splice(at, 0, n);
    draw(n.uid, "input, select, textarea");
  }

  // Adds at the end of the lane, or before the condition that ends it.
  function addControl(lane, label, ends) {
    const sel = h("select", { "aria-label": `Step to add ${label}`, "data-role": "add-kind" },
      kinds.map((k) => h("option", { value: k }, KIND_LABEL[k] || k)));
    const add = h("button", { type: "button", class: "button button-small", "data-action": "add-step" }, ends ? "Add step before the condition" : `Add step ${label}`);
    add.addEventListener("click", () => addTo(lane, sel.value));
    return h("div", { class: "add-step" }, sel, add);
  }

  function card(n, lane, i, order) {
    const pos = order.indexOf(n.uid);
    const btn = (action, text, aria, fn, disabled) => h("button", {
      type: "button", class: "button button-quiet button-small", "data-action": action, "aria-label": aria, disabled, onclick: fn,
    }, text);
    const form = h("div", { class: "step-form" });
    form.builderRender = () => replace(form, forms[n.type](n, ctx));
    form.builderRender();
    const el = h("li", { class: `step-card step-${n.type}`, "data-uid": n.uid, "data-type": n.type, "data-position": pos },
      h("div", { class: "step-head" },
        h("span", { class: "step-num" }, String(pos + 1)),
        h("strong", {}, KIND_LABEL[n.type]), h("span", { class: "muted step-sum" }, summary(n)),
        h("span", { class: "step-tools" },
          btn("up", "↑", `Move step ${pos + 1} up`, () => move(n.uid, -1), !canMove(lane, i, -1)),
          btn("down", "↓", `Move step ${pos + 1} down`, () => move(n.uid, 1), !canMove(lane, i, 1)),
          btn("remove", "Remove", `Remove step ${pos + 1}`, () => remove(n.uid)))),
      h("p", { class: "field-error step-error", "data-error-for": "", hidden: true }),
      form);
    el.addEventListener("keydown", (ev) => {
      if (!ev.altKey || (ev.key !== "ArrowUp" && ev.key !== "ArrowDown")) return;
      ev.preventDefault();
      move(n.uid, ev.key === "ArrowUp" ? -1 : 1);
    });
    if (n.type === "condition") {
      el.append(h("div", { class: "lanes" },
        h("div", { class: "lane lane-yes", "data-branch": "true" }, h("p", { class: "lane-title" }, "Yes"),
          laneEl(n.yes, order, `if yes (step ${pos + 1})`)),
        h("div", { class: "lane lane-no", "data-branch": "false" }, h("p", { class: "lane-title" }, "No"),
          laneEl(n.no, order, `if no (step ${pos + 1})`))));
    }
    return el;
  }

  function laneEl(lane, order, label) {
    const items = lane.map((n, i) => card(n, lane, i, order));
    const ends = lane.length && lane[lane.length - 1].type === "condition";
    return h("div", { class: "lane-body" },
      h("ol", { class: "flow-lane" }, items),
      ends ? null : h("p", { class: "flow-end muted small" }, lane.length ? "then the campaign ends" : "ends here"),
      addControl(lane, label, ends));
  }

  function draw(focusUid, focusSel) {
    if (jsonOnly !== null) {
      replace(flow, h("p", { class: "status-note muted" }, "This flow can only be edited as JSON (below)."));
      return;
    }
    const order = [];
    fromTree(root, order);
    replace(flow, laneEl(root, order, root.length ? "" : "to start"));
    if (focusUid) {
      const el = flow.querySelector(`[data-uid="${focusUid}"]`);
      const f = el && (el.querySelector(`.step-head ${focusSel}:not([disabled])`) || el.querySelector(focusSel) || el.querySelector("button"));
      if (f) f.focus();
    }
    if (advanced.open) text.value = JSON.stringify(fromTree(root), null, 2);
  }

  function load(list) {
    try {
      root = toTree(list);
      jsonOnly = null;
      flowNote.textContent = "";
    } catch (err) {
      root = [];
      jsonOnly = JSON.stringify(list, null, 2);
      flowNote.textContent = err.message;
    }
    draw();
  }

  // Filled as it opens (the click comes before the details open, so the
  // text is there before anything can be typed into it).
  advanced.querySelector("summary").addEventListener("click", () => {
    if (!advanced.open) text.value = jsonOnly !== null ? jsonOnly : JSON.stringify(fromTree(root), null, 2);
  });
  apply.addEventListener("click", () => {
    let list;
    try {
      list = JSON.parse(text.value);
      toTree(list);
    } catch (err) {
      jsonNote.className = "status-note error";
      jsonNote.textContent = err instanceof SyntaxError ? `The steps are not valid JSON: ${err.message}` : err.message;
      return;
    }
    jsonNote.className = "status-note muted";
    jsonNote.textContent = "The form shows this JSON.";
    load(list);
  });

  function clearErrors() {
    for (const e of flow.querySelectorAll(".field-error")) {
      e.hidden = true;
      e.textContent = "";
    }
    for (const e of flow.querySelectorAll("[aria-invalid]")) e.removeAttribute("aria-invalid");
  }

  load(steps);
  return {
    el: h("div", { class: "step-builder" }, flowNote, flow, advanced),
    // The step list to save: the JSON view's when it is open, else the form's.
    // Throws SyntaxError for JSON that does not parse.
    steps() {
      if (advanced.open) return JSON.parse(text.value);
      if (jsonOnly !== null) return JSON.parse(jsonOnly);
      return fromTree(root);
    },
    // Shows a server message beside the field it names; true when it found one.
    showError(message) {
      clearErrors();
      const m = /^steps\[(\d+)\](?:\.config(?:\.([a-z_]+))?|\.(true|false|next|type))?/.exec(String(message || ""));
      if (!m || advanced.open || jsonOnly !== null) return false;
      const order = [];
      fromTree(root, order);
      const el = flow.querySelector(`[data-uid="${order[Number(m[1])]}"]`);
      if (!el) return false;
      const key = m[2] || "";
      const form = el.querySelector(":scope > .step-form");
      const slot = (key && form.querySelector(`.field[data-key="${key}"] > .field-error`)) ||
        el.querySelector(":scope > .step-error");
      slot.textContent = message;
      slot.hidden = false;
      slot.setAttribute("role", "alert");
      const input = slot.parentElement.querySelector("input, select, textarea");
      if (key && input && slot.parentElement.classList.contains("field")) {
        input.setAttribute("aria-invalid", "true");
        input.focus();
      }
      return true;
    },
    clearErrors,
  };
}
