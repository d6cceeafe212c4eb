// Canvas field views: rows of heatmaps with shared colour bars, and the latent as a grid of
// selectable cells with action buttons above it. Speaks Streamlit's component protocol
// directly (no build step): it receives a spec of diano/viz/canvas.py as the "spec" argument
// (one view, or several side by side in one component, so that one rerun sends one element)
// and, for a grid, returns {cells: [[row, col], ...], event: n, action: a} when the user
// clicks a cell or drags a box (a = "select") or presses a button (a = its id).
"use strict";

const root = document.getElementById("root");
const tip = document.getElementById("tip");
const MISSING = 65535;
const LEVELS = 65534;
const FONT = '"Source Sans Pro", "Source Sans 3", sans-serif';

let views = [];  // one View per spec shown
let event = 0;   // the user's actions so far (selections and button presses)
let lastHeight = -1;

function post(type, extra) {
  window.parent.postMessage(Object.assign({ isStreamlitMessage: true, type: type }, extra), "*");
}

function send(view, action) {
  event += 1;
  const cells = [...(view.selection || [])].map((k) => k.split(",").map(Number));
  const value = { cells: cells, event: event, action: action };
  post("streamlit:setComponentValue", { value: value, dataType: "json" });
}

// ---- data -------------------------------------------------------------------------------
function decodeArray(enc) {
  const bin = atob(enc.b64);
  const n = bin.length >> 1;
  const out = new Float32Array(n);
  const span = enc.hi > enc.lo ? enc.hi - enc.lo : 1;
  for (let i = 0; i < n; i++) {
    const code = bin.charCodeAt(2 * i) | (bin.charCodeAt(2 * i + 1) << 8);
    out[i] = code === MISSING ? NaN : enc.lo + (code / LEVELS) * span;
  }
  return out;
}

function parseColour(c) {
  if (c[0] === "#") {
    const h = c.length === 4 ? c.slice(1).split("").map((d) => d + d).join("") : c.slice(1);
    return [0, 2, 4].map((i) => parseInt(h.slice(i, i + 2), 16));
  }
  return c.replace(/[^\d.,]/g, "").split(",").slice(0, 3).map(Number);
}

// 256-entry lookup table of a plotly colour scale
function lookup(stops) {
  const s = stops.map(([p, c]) => [p, parseColour(c)]);
  const table = new Uint8ClampedArray(256 * 3);
  for (let i = 0; i < 256; i++) {
    const t = i / 255;
    let k = 0;
    while (k < s.length - 2 && t > s[k + 1][0]) k++;
    const [p0, c0] = s[k];
    const [p1, c1] = s[Math.min(k + 1, s.length - 1)];
    const f = p1 > p0 ? Math.min(1, Math.max(0, (t - p0) / (p1 - p0))) : 0;
    for (let j = 0; j < 3; j++) table[3 * i + j] = c0[j] + f * (c1[j] - c0[j]);
  }
  return table;
}

function colourIndex(v, g) {
  const f = (v - g.vmin) / (g.vmax - g.vmin || 1);
  return Math.max(0, Math.min(255, Math.round(f * 255)));
}

// ---- axes -------------------------------------------------------------------------------
function niceTicks(lo, hi, count) {
  const span = hi - lo;
  if (!(span > 0)) return [lo];
  const raw = span / count;
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) || 10 * mag;
  const out = [];
  for (let v = Math.ceil(lo / step - 1e-9) * step; v <= hi + 1e-9 * span; v += step) {
    out.push(Math.abs(v) < 1e-12 * span ? 0 : v);
  }
  return out;
}

function fmt(v) {
  if (v === 0) return "0";
  const a = Math.abs(v);
  if (a >= 1e4 || a < 1e-3) return v.toExponential(1);
  return String(Number(v.toPrecision(3)));
}

// ---- one view: buttons, canvas, notes ------------------------------------------------------
class View {
  constructor(parent) {
    this.el = document.createElement("div");
    this.el.className = "view";
    this.buttons = document.createElement("div");
    this.buttons.className = "buttons";
    this.canvas = document.createElement("canvas");
    this.canvas.setAttribute("role", "img");
    this.notes = document.createElement("div");
    this.notes.className = "notes";
    this.el.append(this.buttons, this.canvas, this.notes);
    parent.append(this.el);
    this.ctx = this.canvas.getContext("2d");
    this.spec = null; this.layout = null; this.decoded = [];
    this.selection = null; this.drag = null;
    this.listen();
  }

  update(spec) {
    this.spec = spec;
    this.decoded = spec.panels.map((p) => decodeArray(p.data));
    this.selection = spec.kind === "grid" ? new Set((spec.selected || []).map((rc) => rc.join(","))) : null;
    this.renderButtons();
    this.renderNotes();
  }

  renderButtons() {
    const wanted = this.spec.buttons || [];
    const key = JSON.stringify(wanted);
    if (this.buttons.dataset.key === key) return;
    this.buttons.dataset.key = key;
    this.buttons.replaceChildren(...wanted.map((b) => {
      const el = document.createElement("button");
      el.type = "button";
      el.textContent = b.label;
      el.disabled = !b.enabled;
      if (b.primary) el.className = "primary";
      el.addEventListener("click", () => { if (!el.disabled) send(this, b.id); });
      return el;
    }));
  }

  renderNotes() {
    this.notes.replaceChildren(...(this.spec.notes || []).map((t) => {
      const el = document.createElement("p");
      el.textContent = t;
      return el;
    }));
  }

  computeLayout(width) {
    const spec = this.spec;
    const n = spec.panels.length;
    const top = spec.title ? 30 : 6;
    const ptitle = spec.kind === "panels" ? 22 : 0;
    const left = 48, gap = 26, right = 12, xaxis = 40, bar = 56;
    const p0 = spec.panels[0];
    const aspect = (p0.y[1] - p0.y[0]) / (p0.x[1] - p0.x[0]);
    let pw = (width - left - right - gap * (n - 1)) / n;
    let ph = pw * aspect;
    const maxPh = spec.height - top - ptitle - xaxis - bar;
    if (ph > maxPh) { ph = Math.max(40, maxPh); pw = ph / aspect; }
    const boxes = spec.panels.map((p, i) => ({
      x: left + i * (pw + gap), y: top + ptitle, w: pw, h: ph,
    }));
    return { boxes: boxes, top: top, height: Math.ceil(top + ptitle + ph + xaxis + bar) };
  }

  drawHeatmap(p, values, box, g) {
    const ctx = this.ctx;
    const [ny, nx] = p.data.shape;
    const table = lookup(g.stops);
    const img = new ImageData(nx, ny);
    for (let r = 0; r < ny; r++) {
      for (let c = 0; c < nx; c++) {
        const v = values[r * nx + c];
        const o = 4 * ((ny - 1 - r) * nx + c); // row 0 is the lowest y
        if (Number.isNaN(v)) { img.data[o] = 200; img.data[o + 1] = 200; img.data[o + 2] = 200; }
        else { const k = 3 * colourIndex(v, g); img.data[o] = table[k]; img.data[o + 1] = table[k + 1]; img.data[o + 2] = table[k + 2]; }
        img.data[o + 3] = 255;
      }
    }
    const off = document.createElement("canvas");
    off.width = nx; off.height = ny;
    off.getContext("2d").putImageData(img, 0, 0);
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(off, box.x, box.y, box.w, box.h);
  }

  drawGrid(p, values, box, g) {
    const ctx = this.ctx;
    const [ny, nx] = p.data.shape;
    const table = lookup(g.stops);
    const cw = box.w / nx, ch = box.h / ny;
    const picked = this.selection || new Set();
    const dim = picked.size > 0;
    for (let r = 0; r < ny; r++) {
      for (let c = 0; c < nx; c++) {
        const v = values[r * nx + c];
        const k = 3 * colourIndex(v, g);
        const on = picked.has(r + "," + c);
        ctx.globalAlpha = dim && !on ? 0.35 : 1;
        ctx.fillStyle = Number.isNaN(v) ? "#c8c8c8" : `rgb(${table[k]},${table[k + 1]},${table[k + 2]})`;
        const x = box.x + c * cw, y = box.y + (ny - 1 - r) * ch;
        ctx.fillRect(x + 0.5, y + 0.5, cw - 1, ch - 1);
      }
    }
    ctx.globalAlpha = 1;
    ctx.strokeStyle = "#111"; ctx.lineWidth = 2;
    for (const key of picked) {
      const [r, c] = key.split(",").map(Number);
      ctx.strokeRect(box.x + c * cw + 1, box.y + (ny - 1 - r) * ch + 1, cw - 2, ch - 2);
    }
  }

  toPx(p, box, x, y) {
    return [box.x + ((x - p.x[0]) / (p.x[1] - p.x[0])) * box.w,
            box.y + box.h - ((y - p.y[0]) / (p.y[1] - p.y[0])) * box.h];
  }

  drawAxes(p, box, first) {
    const ctx = this.ctx, unit = this.spec.length_unit;
    ctx.strokeStyle = "#444"; ctx.lineWidth = 1;
    ctx.strokeRect(box.x, box.y, box.w, box.h);
    ctx.fillStyle = "#333"; ctx.font = `11px ${FONT}`;
    ctx.textAlign = "center"; ctx.textBaseline = "top";
    for (const v of niceTicks(p.x[0], p.x[1], Math.max(2, Math.floor(box.w / 55)))) {
      const [px] = this.toPx(p, box, v, p.y[0]);
      ctx.beginPath(); ctx.moveTo(px, box.y + box.h); ctx.lineTo(px, box.y + box.h + 4); ctx.stroke();
      ctx.fillText(fmt(v), px, box.y + box.h + 6);
    }
    ctx.font = `12px ${FONT}`;
    ctx.fillText(`x / ${unit}`, box.x + box.w / 2, box.y + box.h + 21);
    ctx.font = `11px ${FONT}`;
    ctx.textAlign = "right"; ctx.textBaseline = "middle";
    for (const v of niceTicks(p.y[0], p.y[1], Math.max(2, Math.floor(box.h / 45)))) {
      const [, py] = this.toPx(p, box, p.x[0], v);
      ctx.beginPath(); ctx.moveTo(box.x - 4, py); ctx.lineTo(box.x, py); ctx.stroke();
      if (first) ctx.fillText(fmt(v), box.x - 6, py);
    }
    if (first) {
      ctx.save(); ctx.translate(12, box.y + box.h / 2); ctx.rotate(-Math.PI / 2);
      ctx.textAlign = "center"; ctx.font = `12px ${FONT}`;
      ctx.fillText(`y / ${unit}`, 0, 0); ctx.restore();
    }
    if (p.title) {
      ctx.textAlign = "center"; ctx.textBaseline = "bottom"; ctx.font = `14px ${FONT}`;
      ctx.fillStyle = "#222"; ctx.fillText(p.title, box.x + box.w / 2, box.y - 5);
    }
  }

  drawColourBar(g, x0, x1, y) {
    const ctx = this.ctx;
    const table = lookup(g.stops);
    const w = x1 - x0, h = 10;
    for (let i = 0; i < 256; i++) {
      ctx.fillStyle = `rgb(${table[3 * i]},${table[3 * i + 1]},${table[3 * i + 2]})`;
      ctx.fillRect(x0 + (i / 256) * w, y, w / 256 + 0.6, h);
    }
    ctx.strokeStyle = "#444"; ctx.lineWidth = 1; ctx.strokeRect(x0, y, w, h);
    ctx.fillStyle = "#333"; ctx.font = `11px ${FONT}`; ctx.textAlign = "center"; ctx.textBaseline = "top";
    for (const v of niceTicks(g.vmin, g.vmax, 4)) {
      const px = x0 + ((v - g.vmin) / (g.vmax - g.vmin || 1)) * w;
      ctx.fillText(fmt(v), px, y + h + 2);
    }
    ctx.font = `12px ${FONT}`;
    ctx.fillText(g.label, (x0 + x1) / 2, y + h + 16);
  }

  drawMarkers(p, box) {
    const ctx = this.ctx, spec = this.spec;
    if (spec.region) {
      const [ax, ay] = this.toPx(p, box, spec.region.x0, spec.region.y1);
      const [bx, by] = this.toPx(p, box, spec.region.x1, spec.region.y0);
      ctx.save(); ctx.setLineDash([7, 4]); ctx.strokeStyle = "#2e7d32"; ctx.lineWidth = 2.5;
      ctx.strokeRect(ax, ay, bx - ax, by - ay); ctx.restore();
    }
    for (const m of spec.markers || []) {
      const [mx, my] = this.toPx(p, box, m.x, m.y);
      ctx.strokeStyle = "black"; ctx.lineWidth = 3;
      ctx.beginPath(); ctx.moveTo(mx - 6, my - 6); ctx.lineTo(mx + 6, my + 6);
      ctx.moveTo(mx + 6, my - 6); ctx.lineTo(mx - 6, my + 6); ctx.stroke();
      ctx.fillStyle = "black"; ctx.font = `12px ${FONT}`; ctx.textAlign = "center";
      ctx.textBaseline = "bottom"; ctx.fillText(m.label, mx, my - 8);
    }
  }

  draw() {
    const spec = this.spec, ctx = this.ctx, canvas = this.canvas;
    if (!spec) return;
    const width = Math.max(200, this.el.clientWidth || window.innerWidth);
    const layout = this.layout = this.computeLayout(width);
    const dpr = window.devicePixelRatio || 1;
    canvas.width = Math.round(width * dpr); canvas.height = Math.round(layout.height * dpr);
    canvas.style.width = width + "px"; canvas.style.height = layout.height + "px";
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.fillStyle = "white"; ctx.fillRect(0, 0, width, layout.height);
    if (spec.title) {
      ctx.fillStyle = "#222"; ctx.font = `16px ${FONT}`; ctx.textAlign = "left"; ctx.textBaseline = "top";
      ctx.fillText(spec.title, layout.boxes[0].x, 6);
    }
    spec.panels.forEach((p, i) => {
      const g = spec.groups[p.group], box = layout.boxes[i];
      if (spec.kind === "grid") this.drawGrid(p, this.decoded[i], box, g);
      else this.drawHeatmap(p, this.decoded[i], box, g);
      this.drawAxes(p, box, i === 0);
      if (spec.kind === "grid") this.drawMarkers(p, box);
    });
    // one colour bar per group, under its first run of adjacent panels
    const seen = new Set();
    spec.panels.forEach((p, i) => {
      if (seen.has(p.group)) return;
      seen.add(p.group);
      let j = i;
      while (j + 1 < spec.panels.length && spec.panels[j + 1].group === p.group) j++;
      const a = layout.boxes[i], b = layout.boxes[j];
      const x0 = a.x + 0.05 * (b.x + b.w - a.x), x1 = b.x + b.w - 0.05 * (b.x + b.w - a.x);
      this.drawColourBar(spec.groups[p.group], x0, x1, a.y + a.h + 38);
    });
    const drag = this.drag;
    if (drag && drag.moved) {
      ctx.save(); ctx.setLineDash([4, 3]); ctx.strokeStyle = "#333"; ctx.lineWidth = 1;
      ctx.fillStyle = "rgba(60, 60, 60, 0.08)";
      const x = Math.min(drag.x0, drag.x1), y = Math.min(drag.y0, drag.y1);
      ctx.fillRect(x, y, Math.abs(drag.x1 - drag.x0), Math.abs(drag.y1 - drag.y0));
      ctx.strokeRect(x, y, Math.abs(drag.x1 - drag.x0), Math.abs(drag.y1 - drag.y0));
      ctx.restore();
    }
    canvas.setAttribute("aria-label", spec.title || "field view");
  }

  // ---- pointer --------------------------------------------------------------------------
  locate(ev) {
    const rect = this.canvas.getBoundingClientRect();
    const mx = ev.clientX - rect.left, my = ev.clientY - rect.top;
    if (!this.layout) return null;
    for (let i = 0; i < this.layout.boxes.length; i++) {
      const b = this.layout.boxes[i], p = this.spec.panels[i];
      if (mx >= b.x && mx <= b.x + b.w && my >= b.y && my <= b.y + b.h) {
        const [ny, nx] = p.data.shape;
        const c = Math.min(nx - 1, Math.floor(((mx - b.x) / b.w) * nx));
        const r = Math.min(ny - 1, Math.floor(((b.y + b.h - my) / b.h) * ny));
        const x = p.x[0] + ((mx - b.x) / b.w) * (p.x[1] - p.x[0]);
        const y = p.y[0] + ((b.y + b.h - my) / b.h) * (p.y[1] - p.y[0]);
        return { panel: i, row: r, col: c, x: x, y: y, mx: mx, my: my };
      }
    }
    return { panel: -1, mx: mx, my: my };
  }

  listen() {
    const canvas = this.canvas;
    canvas.addEventListener("mousemove", (ev) => {
      if (!this.spec) return;
      const at = this.locate(ev);
      if (this.drag) {
        const d = this.drag;
        d.x1 = at.mx; d.y1 = at.my;
        d.moved = d.moved || Math.hypot(d.x1 - d.x0, d.y1 - d.y0) > 4;
        if (d.moved) this.draw();
      }
      if (!at || at.panel < 0) { tip.style.display = "none"; return; }
      const spec = this.spec, p = spec.panels[at.panel];
      const v = this.decoded[at.panel][at.row * p.data.shape[1] + at.col];
      const value = Number.isNaN(v) ? "solid" : fmt(v);
      const grid = spec.kind === "grid";
      const head = grid ? `cell (${at.row}, ${at.col})\n` : (p.title ? p.title + "\n" : "");
      tip.textContent = `${head}x = ${at.x.toFixed(2)}, y = ${at.y.toFixed(2)}\n${grid ? "z" : "value"} = ${value}`;
      tip.style.display = "block";
      const rect = canvas.getBoundingClientRect();
      const px = rect.left + window.scrollX + at.mx, py = rect.top + window.scrollY + at.my;
      const right = px + 14 + tip.offsetWidth > document.body.clientWidth;
      tip.style.left = (right ? px - 14 - tip.offsetWidth : px + 14) + "px";
      tip.style.top = Math.max(0, py - 10) + "px";
    });
    canvas.addEventListener("mouseleave", () => { tip.style.display = "none"; });
    canvas.addEventListener("mousedown", (ev) => {
      if (!this.spec || this.spec.kind !== "grid") return;
      const at = this.locate(ev);
      this.drag = { x0: at.mx, y0: at.my, x1: at.mx, y1: at.my, moved: false, add: ev.shiftKey };
    });
    window.addEventListener("mouseup", (ev) => {
      if (!this.drag) return;
      const d = this.drag;
      this.drag = null;
      const picked = d.add && this.selection ? new Set(this.selection) : new Set();
      const p = this.spec.panels[0], b = this.layout.boxes[0];
      const [ny, nx] = p.data.shape;
      if (!d.moved) {
        const at = this.locate(ev);
        if (!at || at.panel !== 0) { this.draw(); return; }
        const key = at.row + "," + at.col;
        if (d.add && picked.has(key)) picked.delete(key); else picked.add(key);
      } else {
        const xa = Math.min(d.x0, d.x1), xb = Math.max(d.x0, d.x1);
        const ya = Math.min(d.y0, d.y1), yb = Math.max(d.y0, d.y1);
        for (let r = 0; r < ny; r++) {
          for (let c = 0; c < nx; c++) {
            const cx = b.x + ((c + 0.5) / nx) * b.w, cy = b.y + b.h - ((r + 0.5) / ny) * b.h;
            if (cx >= xa && cx <= xb && cy >= ya && cy <= yb) picked.add(r + "," + c);
          }
        }
      }
      this.selection = picked;
      this.draw();
      send(this, "select");
    });
  }
}

// ---- all views --------------------------------------------------------------------------
function drawAll() {
  views.forEach((v) => v.draw());
  const titles = views.map((v) => v.spec.title).filter((t) => t);
  document.body.dataset.title = titles.join(" | ");
  const total = root.offsetHeight;
  if (total !== lastHeight) { lastHeight = total; post("streamlit:setFrameHeight", { height: total }); }
}

function show(spec) {
  const specs = spec.kind === "views" ? spec.views : [spec];
  const widths = spec.kind === "views" ? spec.widths : [1];
  if (views.length !== specs.length) {
    root.replaceChildren();
    views = specs.map(() => new View(root));
  }
  views.forEach((v, i) => { v.el.style.flex = `${widths[i]} 1 0`; v.update(specs[i]); });
  drawAll();
}

// ---- protocol ---------------------------------------------------------------------------
window.addEventListener("message", (msg) => {
  if (!msg.data || msg.data.type !== "streamlit:render") return;
  const args = msg.data.args || {};
  if (!args.spec) return;
  event = Math.max(event, args.event || 0);
  show(args.spec);
});
window.addEventListener("resize", () => { if (views.length) drawAll(); });
post("streamlit:componentReady", { apiVersion: 1 });
