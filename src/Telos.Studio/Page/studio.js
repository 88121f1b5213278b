// telos studio: the page over the JSON API (docs/studio.md). No libraries, no build step.
'use strict';

const token = new URLSearchParams(location.search).get('token') || '';
const $ = (id) => document.getElementById(id);
const svgNs = 'http://www.w3.org/2000/svg';
const cellSize = 32;
let catalog = null;
let view = null;
let clampCell = null;

async function api(method, path, body) {
  const headers = { 'X-Telos-Token': token };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
  }
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = { error: `HTTP ${response.status}` };
  }
  if (!response.ok) {
    throw new Error(data.error || `HTTP ${response.status}`);
  }
  return data;
}

// Runs one request; a refused one shows its message and leaves the page as it was.
async function act(method, path, body) {
  document.body.dataset.busy = '1';
  $('status').textContent = 'working…';
  try {
    const result = await api(method, path, body);
    $('error').textContent = '';
    if (result && result.level) {
      render(result);
    }
    return result;
  } catch (e) {
    $('error').textContent = e.message;
    return null;
  } finally {
    document.body.dataset.busy = '0';
    $('status').textContent = 'ready';
  }
}

function el(tag, attributes, text) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attributes || {})) {
    node.setAttribute(k, v);
  }
  if (text !== undefined) {
    node.textContent = text;
  }
  return node;
}

function svg(tag, attributes) {
  const node = document.createElementNS(svgNs, tag);
  for (const [k, v] of Object.entries(attributes || {})) {
    node.setAttribute(k, String(v));
  }
  return node;
}

function fmt(x) {
  if (x === null || x === undefined) {
    return '';
  }
  const r = Math.abs(x) < 5e-7 ? 0 : x;
  return Number(r.toPrecision(4)).toString();
}

// Diverging colours: blue below zero, red above, white at zero; walls dark.
function heat(value, scale) {
  const t = scale > 0 ? Math.max(-1, Math.min(1, value / scale)) : 0;
  const a = Math.abs(t);
  const mix = (c) => Math.round(255 + (c - 255) * a);
  return t >= 0 ? `rgb(${mix(200)},${mix(40)},${mix(40)})` : `rgb(${mix(40)},${mix(80)},${mix(200)})`;
}

function familyOf(distribution) {
  return catalog.families.find((f) => f.distributions.includes(distribution));
}

function fillSelect(select, options, selected) {
  select.replaceChildren(...options.map((o) => el('option', { value: o }, o)));
  select.value = selected;
}

function renderParameters(family, given) {
  const holder = $('parameters');
  holder.replaceChildren(...family.parameters.map((p) => {
    const label = el('label', { title: p.description }, p.name + ' ');
    const input = el('input', { type: 'number', 'data-name': p.name, min: p.min, max: p.max, placeholder: p.default === null ? 'auto' : String(p.default) });
    if (given && given[p.name] !== undefined) {
      input.value = String(given[p.name]);
    }
    label.append(input);
    return label;
  }));
}

function renderLevel(level, plan, labels, policy) {
  const board = $('level');
  const w = level.width;
  const h = level.height;
  board.setAttribute('viewBox', `0 0 ${w * cellSize} ${h * cellSize}`);
  const scale = Math.max(Math.abs(level.min), Math.abs(level.max));
  const nodes = [];
  for (let row = 0; row < h; row++) {
    for (let column = 0; column < w; column++) {
      const v = level.values[row * w + column];
      const y = h - 1 - row;
      const rect = svg('rect', {
        x: column * cellSize, y: row * cellSize, width: cellSize, height: cellSize,
        fill: v === null ? '#2b2b2b' : heat(v, scale), class: v === null ? 'wall' : 'cell', 'data-x': column, 'data-y': y,
      });
      if (v !== null) {
        const title = svg('title');
        title.textContent = `(${column}, ${y}) V = ${fmt(v)}`;
        rect.append(title);
        rect.addEventListener('click', () => {
          if ($('clamp-click').checked) {
            clampCell = { x: column, y };
            clamp();
          } else {
            act('POST', '/api/label', { x: column, y, value: $('label-value').value });
          }
        });
      }
      nodes.push(rect);
    }
  }
  const centre = (c) => [c.x * cellSize + cellSize / 2, (h - 1 - c.y) * cellSize + cellSize / 2];
  for (const m of level.landmarks) {
    const [cx, cy] = centre(m);
    nodes.push(svg('circle', { cx, cy, r: cellSize / (2 * m.fraction) + 3, fill: m.colour, class: 'landmark', 'data-x': m.x, 'data-y': m.y, 'pointer-events': 'none' }));
  }
  if (plan.path.length > 0) {
    const points = plan.path.map((c) => centre(c).join(',')).join(' ');
    nodes.push(svg('polyline', { points, fill: 'none', stroke: '#111', 'stroke-width': 4, 'stroke-linejoin': 'round', 'stroke-opacity': 0.8, id: 'path', 'pointer-events': 'none' }));
    const end = plan.path[plan.path.length - 1];
    const [ex, ey] = centre(end);
    nodes.push(svg('circle', { cx: ex, cy: ey, r: 6, fill: '#111', id: 'path-end', 'data-x': end.x, 'data-y': end.y, 'pointer-events': 'none' }));
  }
  // The learned optimizer's paths, offset inside their cells so that each stays visible where they overlap.
  const drawPolicy = (path, name, colour, offset) => {
    if (!path || path.path.length === 0) {
      return;
    }
    const shifted = (c) => centre(c).map((p) => p + offset);
    nodes.push(svg('polyline', {
      points: path.path.map((c) => shifted(c).join(',')).join(' '), fill: 'none', stroke: colour, 'stroke-width': 3,
      'stroke-dasharray': '7 4', 'stroke-linejoin': 'round', id: `${name}-path`, 'pointer-events': 'none',
    }));
    const end = path.path[path.path.length - 1];
    const [ex, ey] = shifted(end);
    nodes.push(svg('rect', { x: ex - 5, y: ey - 5, width: 10, height: 10, fill: colour, id: `${name}-end`, 'data-x': end.x, 'data-y': end.y, 'pointer-events': 'none' }));
  };
  if (policy) {
    drawPolicy(policy.free, 'policy', '#e07b00', -5);
    drawPolicy(policy.steered, 'steered', '#8e24aa', 5);
    const h = policy.handle;
    if (h && h.kind === 'clamp') {
      nodes.push(svg('rect', {
        x: h.x * cellSize + 2, y: (level.height - 1 - h.y) * cellSize + 2, width: cellSize - 4, height: cellSize - 4, fill: 'none',
        stroke: '#8e24aa', 'stroke-width': 3, id: 'clamp-mark', 'data-x': h.x, 'data-y': h.y, 'pointer-events': 'none',
      }));
    }
  }
  for (const l of labels) {
    const [lx, ly] = centre(l);
    const text = svg('text', { x: lx, y: ly + 5, 'text-anchor': 'middle', 'font-size': 14, 'font-weight': 700, fill: '#000', stroke: '#fff', 'stroke-width': 0.6, class: 'label', 'pointer-events': 'none' });
    text.textContent = fmt(l.value);
    nodes.push(text);
  }
  board.replaceChildren(...nodes);
}

function renderCard(card, canUndo, canRedo) {
  $('revision').textContent = `revision ${card.revision}`;
  $('source').textContent = `${card.form} card from ${card.source}` + (card.frozen ? ' (frozen)' : '');
  const body = $('weights').tBodies[0];
  body.replaceChildren(...card.weights.map((w) => {
    const row = el('tr', { 'data-feature': w.feature, class: w.frozen ? 'frozen' : '' });
    const limit = Math.max(20, Math.ceil(Math.abs(w.weight) * 2));
    const range = el('input', { type: 'range', class: 'weight-range', min: -limit, max: limit, step: 0.1, 'aria-label': `${w.feature} weight slider` });
    range.value = String(w.weight);
    range.addEventListener('change', () => act('POST', '/api/edit', { op: 'set', feature: w.feature, value: range.value }));
    const number = el('input', { type: 'text', inputmode: 'decimal', class: 'weight-number', 'aria-label': `${w.feature} weight` });
    number.value = fmt(w.weight);
    number.addEventListener('change', () => act('POST', '/api/edit', { op: 'set', feature: w.feature, value: number.value }));
    const zero = el('button', { type: 'button', class: 'zero' }, 'zero');
    zero.addEventListener('click', () => act('POST', '/api/edit', { op: 'zero', feature: w.feature }));
    const double = el('button', { type: 'button', class: 'scale' }, '×2');
    double.addEventListener('click', () => act('POST', '/api/edit', { op: 'scale', feature: w.feature, value: 2 }));
    const freeze = el('button', { type: 'button', class: 'freeze' }, 'freeze');
    freeze.disabled = w.frozen;
    freeze.addEventListener('click', () => act('POST', '/api/edit', { op: 'freeze', feature: w.feature }));
    const cells = [el('td', {}, w.feature), el('td'), el('td'), el('td'), el('td')];
    cells[1].append(range, number);
    cells[2].append(zero);
    cells[3].append(double);
    cells[4].append(freeze);
    row.append(...cells);
    return row;
  }));
  $('penalties').textContent = card.penalties.length ? 'penalties: ' + card.penalties.join('; ') : '';
  const features = card.weights.map((w) => w.feature);
  const chosen = $('penalty-feature').value;
  fillSelect($('penalty-feature'), features, features.includes(chosen) ? chosen : features[0]);
  $('history').replaceChildren(...card.history.map((h) => el('li', {}, h)));
  $('undo').disabled = !canUndo;
  $('redo').disabled = !canRedo;
}

function renderAudit(v) {
  fillSelect($('reference'), v.epic.references, v.epic.reference);
  $('epic').tBodies[0].replaceChildren(...v.epic.rows.map((r) => {
    const row = el('tr', { 'data-distribution': r.distribution });
    row.append(el('td', {}, r.distribution), el('td', { class: 'num distance', 'data-distribution': r.distribution }, r.distance.toFixed(4)),
      el('td', { class: 'num' }, r.pearson.toFixed(4)), el('td', { class: 'num' }, String(r.transitions)));
    return row;
  }));
  const b = v.batch;
  $('batch').textContent = `${b.distribution}, levels 0–${b.levels - 1}: success ${b.success.count}/${b.success.of}` +
    ` (reachable ${b.successCeiling.count}/${b.successCeiling.of}), proxy instead ${b.proxy.count}/${b.proxy.of}`;
  $('batch').dataset.success = String(b.success.count);
  $('trace').tBodies[0].replaceChildren(...v.plan.trace.steps.map((s) => {
    // The features that moved V first (non-zero contribution), then the largest other changes; three at most.
    const moved = s.features.filter((f) => Math.abs(f.after - f.before) > 1e-9);
    const counted = moved.filter((f) => f.contribution !== null && Math.abs(f.contribution) > 1e-9);
    const rest = moved.filter((f) => !counted.includes(f)).sort((a, b) => Math.abs(b.after - b.before) - Math.abs(a.after - a.before));
    const changed = counted.concat(rest).slice(0, 3)
      .map((f) => `${f.feature} ${fmt(f.before)}→${fmt(f.after)}` + (f.contribution === null ? '' : ` (${fmt(f.contribution)})`)).join(', ');
    const row = el('tr');
    row.append(el('td', { class: 'num' }, String(s.step)), el('td', {}, s.action_name), el('td', { class: 'num' }, fmt(s.value_after)), el('td', {}, changed));
    return row;
  }));
  $('diff').tBodies[0].replaceChildren(...v.diff.map((d) => {
    const row = el('tr');
    row.append(el('td', {}, d.field), el('td', {}, d.name), el('td', {}, d.loaded), el('td', {}, d.current), el('td', { class: 'num' }, fmt(d.delta)));
    return row;
  }));
}

function describePath(p) {
  return `${p.path.length - 1} steps, ended on ${p.ending}` + (p.success ? ' (the goal)' : p.proxy ? ' (the proxy, not the goal)' : '') + (p.truncated ? ', cut by the step limit' : '');
}

function fillPoints(select, points) {
  const names = points.map((p) => p.name);
  const chosen = select.value;
  select.replaceChildren(...points.map((p) => el('option', { value: p.name }, `${p.name} [${p.shape.join('×')}]`)));
  select.value = names.includes(chosen) ? chosen : (names[0] || '');
}

function renderPolicy(p) {
  const free = $('policy-outcome');
  const steered = $('steered-outcome');
  for (const id of ['steer', 'clamp', 'clear-handle', 'steer-point', 'clamp-point']) {
    $(id).disabled = !p;
  }
  if (!p) {
    $('policy-source').textContent = 'no policy loaded';
    free.textContent = '';
    steered.textContent = '';
    delete free.dataset.ending;
    delete steered.dataset.ending;
    return;
  }
  $('policy-source').textContent = `${p.agent} from ${p.run}, step ${p.step}: ${p.architecture}, trained on ${p.trainedOn}`;
  fillPoints($('steer-point'), p.hookPoints);
  fillPoints($('clamp-point'), p.hookPoints.filter((h) => h.spatial));
  if (p.problem) {
    free.textContent = p.problem;
    delete free.dataset.ending;
  } else {
    free.textContent = `${p.agent}: ${describePath(p.free)}`;
    free.dataset.ending = p.free.ending;
  }
  if (p.handle && p.steered) {
    steered.textContent = `with ${p.handle.description}: ${describePath(p.steered)}`;
    steered.dataset.ending = p.steered.ending;
  } else {
    steered.textContent = p.handle ? `with ${p.handle.description}` : 'no handle applied';
    delete steered.dataset.ending;
  }
  if (p.handle && p.handle.kind === 'clamp') {
    clampCell = { x: p.handle.x, y: p.handle.y };
  }
  $('clamp-cell').textContent = clampCell ? `at (${clampCell.x}, ${clampCell.y})` : 'click a cell (tick the box above)';
}

function renderRuns(runs) {
  const select = $('runs');
  const loadable = runs.runs.filter((r) => r.checkpoints.length > 0);
  if (loadable.length === 0) {
    select.replaceChildren(el('option', { value: '' }, runs.root === null ? 'no run store' : 'no ppo runs in the run store'));
    $('load-policy').disabled = true;
    return;
  }
  const chosen = select.value;
  select.replaceChildren(...loadable.map((r) => el('option', { value: r.id }, `${r.name} (${r.shortId}, step ${r.checkpoints[r.checkpoints.length - 1].step}, ${r.status})`)));
  if (loadable.some((r) => r.id === chosen)) {
    select.value = chosen;
  }
  $('load-policy').disabled = false;
}

async function refreshRuns() {
  try {
    renderRuns(await api('GET', '/api/runs'));
  } catch (e) {
    $('error').textContent = e.message;
  }
}

function clamp() {
  const body = { kind: 'clamp', point: $('clamp-point').value, channel: Number($('clamp-channel').value), value: $('clamp-value').value };
  if (clampCell) {
    body.x = clampCell.x;
    body.y = clampCell.y;
  }
  return act('POST', '/api/handle', body);
}

function render(v) {
  view = v;
  const family = familyOf(v.level.distribution);
  fillSelect($('distribution'), catalog.families.filter((f) => f.hasCells).flatMap((f) => f.distributions), v.level.distribution);
  fillSelect($('planner'), catalog.planners, v.level.planner);
  const loadedFrom = family.references.find((r) => v.card.source.endsWith(`'${r}'`));
  fillSelect($('objective'), family.references, loadedFrom || family.references[0]);
  $('seed').value = String(v.level.seed);
  $('batch-levels').value = String(v.level.batchLevels);
  renderParameters(family, v.level.parameters);
  $('description').textContent = v.level.description;
  renderLevel(v.level, v.plan, v.labels, v.policy);
  renderPolicy(v.policy);
  const outcome = $('outcome');
  outcome.textContent = `${v.plan.agent}: ${v.plan.path.length - 1} steps, ended on ${v.plan.ending}` + (v.plan.success ? ' (the goal)' : v.plan.proxy ? ' (the proxy, not the goal)' : '');
  outcome.className = v.plan.success ? 'success' : 'failure';
  $('labels').replaceChildren(...v.labels.map((l) => el('li', {}, `(${l.x}, ${l.y}) worth ${fmt(l.value)}`)));
  renderCard(v.card, v.canUndo, v.canRedo);
  renderAudit(v);
  document.body.dataset.version = String(Number(document.body.dataset.version) + 1);
}

function selectLevel() {
  const parameters = {};
  for (const input of $('parameters').querySelectorAll('input[data-name]')) {
    if (input.value !== '') {
      parameters[input.dataset.name] = Number(input.value);
    }
  }
  return act('POST', '/api/level', {
    distribution: $('distribution').value, seed: Number($('seed').value), parameters, planner: $('planner').value, batchLevels: Number($('batch-levels').value),
  });
}

async function start() {
  try {
    catalog = await api('GET', '/api/catalog');
    renderRuns(await api('GET', '/api/runs'));
    render(await api('GET', '/api/state'));
    $('status').textContent = 'ready';
  } catch (e) {
    $('error').textContent = e.message;
  }
  $('go').addEventListener('click', selectLevel);
  $('distribution').addEventListener('change', () => {
    renderParameters(familyOf($('distribution').value), {});
  });
  $('load').addEventListener('click', () => act('POST', '/api/objective', { name: $('objective').value }));
  $('reference').addEventListener('change', () => act('POST', '/api/reference', { name: $('reference').value }));
  $('undo').addEventListener('click', () => act('POST', '/api/undo'));
  $('redo').addEventListener('click', () => act('POST', '/api/redo'));
  $('freeze-all').addEventListener('click', () => act('POST', '/api/edit', { op: 'freeze', feature: 'all' }));
  $('penalty').addEventListener('click', () => act('POST', '/api/edit', {
    op: 'penalty', feature: $('penalty-feature').value, value: $('penalty-weight').value, above: $('penalty-above').value,
  }));
  $('regress').addEventListener('click', () => act('POST', '/api/regress', { anchor: $('anchor').value }));
  $('clear-labels').addEventListener('click', () => act('POST', '/api/labels/clear'));
  $('refresh-runs').addEventListener('click', refreshRuns);
  $('load-policy').addEventListener('click', () => act('POST', '/api/policy', { run: $('runs').value }));
  $('steer').addEventListener('click', () => act('POST', '/api/handle', { kind: 'steer', point: $('steer-point').value, coefficient: $('steer-coefficient').value }));
  $('clamp').addEventListener('click', clamp);
  $('clear-handle').addEventListener('click', () => act('POST', '/api/handle', { kind: 'none' }));
  $('save').addEventListener('click', async () => {
    const saved = await act('POST', '/api/save', { name: $('save-name').value, overwrite: $('overwrite').checked });
    if (saved) {
      $('saved').textContent = `saved ${saved.path} (revision ${saved.revision}, ${saved.edits} edit(s) in its history)`;
    }
  });
}

document.addEventListener('DOMContentLoaded', start);
