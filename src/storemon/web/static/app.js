// storemon dashboard: plain JS over the public HTTP API.
//
// Everything that comes from the API (store ids, time zones, error messages)
// reaches the page through textContent or setAttribute, never innerHTML: a
// store id is an arbitrary string.
"use strict";

(() => {
  const KEY_STORAGE = "storemon.apiKey";
  const PAGE_SIZE = 10;
  const HOUR_MS = 3_600_000;
  const DAY_MS = 24 * HOUR_MS;
  const WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];
  const SVG_NS = "http://www.w3.org/2000/svg";

  const $ = (id) => document.getElementById(id);

  // ---------------------------------------------------------------- DOM helpers

  /** An element with attributes and children (strings become text nodes). */
  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    setAttrs(node, attrs);
    node.append(...children.filter((c) => c !== null && c !== undefined));
    return node;
  }

  function svgEl(tag, attrs = {}, ...children) {
    const node = document.createElementNS(SVG_NS, tag);
    setAttrs(node, attrs);
    node.append(...children.filter((c) => c !== null && c !== undefined));
    return node;
  }

  function setAttrs(node, attrs) {
    for (const [name, value] of Object.entries(attrs)) {
      if (value === null || value === undefined || value === false) continue;
      node.setAttribute(name, value === true ? "" : String(value));
    }
  }

  function svgTitle(text) {
    return svgEl("title", {}, text);
  }

  function showMessage(node, text, isError = false) {
    node.textContent = text;
    node.classList.toggle("error", isError);
  }

  // ------------------------------------------------------------------- the API

  class ApiError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  function apiKey() {
    return sessionStorage.getItem(KEY_STORAGE) || "";
  }

  /** JSON from the API; throws ApiError with the server's message. */
  async function api(method, path, body) {
    const headers = { Accept: "application/json" };
    const init = { method, headers };
    if (method !== "GET") {
      const key = apiKey();
      if (key) headers["X-API-Key"] = key;
    }
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(path, init);
    } catch {
      throw new ApiError(0, "The server cannot be reached.");
    }
    if (response.status === 204) return null;
    const data = await response.json().catch(() => null);
    if (!response.ok) {
      let message = (data && data.error) || `${response.status} ${response.statusText}`;
      if (response.status === 401) {
        message = apiKey()
          ? "The server refused the API key: check it at the top of the page."
          : "The server needs an API key: enter it at the top of the page.";
      }
      throw new ApiError(response.status, message);
    }
    return data;
  }

  function query(params) {
    const search = new URLSearchParams();
    for (const [name, value] of Object.entries(params)) {
      if (value !== null && value !== undefined && value !== "") search.set(name, String(value));
    }
    const text = search.toString();
    return text ? `?${text}` : "";
  }

  function onUnauthorized(error) {
    if (error instanceof ApiError && error.status === 401) $("api-key").focus();
  }

  // ------------------------------------------------------------------ API key

  function setUpApiKey() {
    const input = $("api-key");
    input.value = apiKey();
    input.addEventListener("input", () => {
      const value = input.value.trim();
      if (value) sessionStorage.setItem(KEY_STORAGE, value);
      else sessionStorage.removeItem(KEY_STORAGE);
    });
    $("key-form").addEventListener("submit", (event) => event.preventDefault());
    $("api-key-forget").addEventListener("click", () => {
      sessionStorage.removeItem(KEY_STORAGE);
      input.value = "";
      input.focus();
    });
  }

  // ---------------------------------------------------------- time formatting

  /** Milliseconds since the epoch from the API's ISO 8601 text (UTC). */
  function parseTime(text) {
    if (text === null || text === undefined || text === "") return null;
    // Microseconds are more than Date keeps; a time without a zone is UTC.
    let iso = String(text).trim().replace(" ", "T");
    iso = iso.replace(/(\.\d{3})\d+/, "$1");
    if (!/(Z|[+-]\d\d:?\d\d)$/i.test(iso)) iso += "Z";
    const value = Date.parse(iso);
    return Number.isNaN(value) ? null : value;
  }

  function formatUtc(text) {
    const ms = parseTime(text);
    if (ms === null) return "—";
    return new Date(ms).toISOString().slice(0, 19).replace("T", " ");
  }

  function formatDuration(seconds) {
    if (seconds === null || seconds === undefined) return "—";
    if (seconds < 60) return `${seconds.toFixed(1)} s`;
    return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
  }

  function hours(ms) {
    return (ms / HOUR_MS).toFixed(1);
  }

  const zoneFormatters = new Map();

  /** Calendar fields of an instant in a time zone, via Intl. */
  function localParts(ms, zone) {
    let format = zoneFormatters.get(zone);
    if (!format) {
      format = new Intl.DateTimeFormat("en-US", {
        timeZone: zone,
        hourCycle: "h23",
        weekday: "short",
        year: "numeric",
        month: "2-digit",
        day: "2-digit",
        hour: "2-digit",
        minute: "2-digit",
        second: "2-digit",
      });
      zoneFormatters.set(zone, format);
    }
    const parts = {};
    for (const part of format.formatToParts(new Date(ms))) parts[part.type] = part.value;
    const hour = Number(parts.hour) % 24;
    return {
      date: `${parts.year}-${parts.month}-${parts.day}`,
      weekday: parts.weekday,
      hours: hour + Number(parts.minute) / 60 + Number(parts.second) / 3600,
      clock: `${String(hour).padStart(2, "0")}:${parts.minute}`,
    };
  }

  function knownZone(zone) {
    try {
      new Intl.DateTimeFormat("en-US", { timeZone: zone });
      return true;
    } catch {
      return false;
    }
  }

  function formatLocal(ms, zone) {
    const parts = localParts(ms, zone);
    return `${parts.weekday} ${parts.date} ${parts.clock}`;
  }

  // ----------------------------------------------------------------- reports

  const reportsState = {
    offset: 0,
    status: "",
    watching: null,
    watchTimer: null,
    startedMessage: null,
  };

  function downloadLinks(reportId) {
    const base = `/reports/${encodeURIComponent(reportId)}/download`;
    const labels = { csv: "CSV", json: "JSON", parquet: "Parquet" };
    return Object.entries(labels).map(([format, label]) =>
      el(
        "a",
        {
          href: `${base}?format=${format}`,
          download: `report-${reportId}.${format}`,
          "aria-label": `Download report ${reportId} as ${label}`,
          "data-format": format,
        },
        label,
      ),
    );
  }

  function badge(status) {
    return el("span", { class: `badge badge-${status}` }, status);
  }

  function reportOptions(report) {
    const parts = [report.interpolation];
    if (report.as_of) parts.push(`as of ${formatUtc(report.as_of)}`);
    if (report.store_ids && report.store_ids.length) {
      parts.push(
        report.store_ids.length === 1
          ? `store ${report.store_ids[0]}`
          : `${report.store_ids.length} stores`,
      );
    }
    return parts.join(", ");
  }

  /** The id's last 8 hex digits: random, unlike its head (the creation time),
   * which reports started close together share. */
  function shortReportId(reportId) {
    return reportId.length > 8 ? `…${reportId.slice(-8)}` : reportId;
  }

  function reportRow(report) {
    const shortId = shortReportId(report.report_id);
    const statusCell = el("td", {}, badge(report.status));
    if (report.error) statusCell.append(el("span", { class: "report-error" }, report.error));
    const remove = el(
      "button",
      {
        type: "button",
        class: "danger",
        "aria-label": `Delete report ${report.report_id}`,
        "data-action": "delete",
      },
      "Delete",
    );
    remove.addEventListener("click", () => deleteReport(report.report_id));
    return el(
      "tr",
      { "data-report-id": report.report_id },
      el("td", {}, el("code", { title: report.report_id }, shortId)),
      el("td", { class: "nowrap" }, formatUtc(report.created_at)),
      statusCell,
      el("td", { class: "nowrap" }, report.now ? formatUtc(report.now) : "—"),
      el("td", {}, reportOptions(report)),
      el("td", { class: "num" }, report.row_count === null ? "—" : String(report.row_count)),
      el("td", { class: "num nowrap" }, formatDuration(report.duration_s)),
      el("td", { class: "nowrap" }, ...(report.status === "Complete" ? downloadLinks(report.report_id) : ["—"])),
      el("td", {}, remove),
    );
  }

  async function loadReports() {
    const body = $("reports-body");
    try {
      const page = await api(
        "GET",
        `/reports${query({ status: reportsState.status, limit: PAGE_SIZE, offset: reportsState.offset })}`,
      );
      if (page.items.length === 0 && page.total > 0 && reportsState.offset > 0) {
        // The page emptied (deletes): step back to the last page that has rows.
        reportsState.offset = Math.max(0, Math.floor((page.total - 1) / PAGE_SIZE) * PAGE_SIZE);
        return loadReports();
      }
      body.replaceChildren(...page.items.map(reportRow));
      // The watched report shows one status: the panel follows the list.
      const watched = page.items.find((item) => item.report_id === reportsState.watching);
      if (watched) showCurrent(watched.report_id, watched);
      if (page.items.length === 0) {
        const text = reportsState.status ? `No ${reportsState.status} reports.` : "No reports yet.";
        body.append(el("tr", {}, el("td", { colspan: "9", class: "empty" }, text)));
      }
      const first = page.total === 0 ? 0 : page.offset + 1;
      const last = page.offset + page.items.length;
      $("page-info").textContent = `${first}–${last} of ${page.total}`;
      $("page-prev").disabled = page.offset === 0;
      $("page-next").disabled = last >= page.total;
    } catch (error) {
      showMessage($("report-message"), `Could not list reports: ${error.message}`, true);
    }
  }

  async function deleteReport(reportId) {
    if (!window.confirm(`Delete report ${reportId}?`)) return;
    try {
      await api("DELETE", `/reports/${encodeURIComponent(reportId)}`);
      showMessage($("report-message"), `Deleted report ${reportId}.`);
      if (reportsState.watching === reportId) stopWatching(true);
    } catch (error) {
      showMessage($("report-message"), `Could not delete: ${error.message}`, true);
      onUnauthorized(error);
    }
    loadReports();
  }

  async function triggerReport(body, button) {
    button.disabled = true;
    showMessage($("report-message"), "Starting a report…");
    try {
      const started = await api("POST", "/trigger_report", body);
      // "Report started." is cleared when the report ends; the note about
      // reuse stays true, so it stays.
      reportsState.startedMessage = started.reused ? null : "Report started.";
      showMessage(
        $("report-message"),
        started.reused
          ? "The same report on the same data exists already: showing it."
          : reportsState.startedMessage,
      );
      watchReport(started.report_id, started.status);
      loadReports();
    } catch (error) {
      showMessage($("report-message"), `Could not start the report: ${error.message}`, true);
      onUnauthorized(error);
    } finally {
      button.disabled = false;
    }
  }

  function stopWatching(hide = false) {
    clearTimeout(reportsState.watchTimer);
    reportsState.watching = null;
    if (hide) $("current-report").hidden = true;
  }

  function showCurrent(reportId, report) {
    $("current-report").hidden = false;
    $("current-id").textContent = reportId;
    const status = report.status;
    const badgeNode = $("current-status");
    badgeNode.className = `badge badge-${status}`;
    badgeNode.textContent = status;
    const detail = [];
    if (status === "Complete") {
      if (report.row_count !== null && report.row_count !== undefined) {
        detail.push(`${report.row_count} stores`);
      }
      if (report.now) detail.push(`data up to ${formatUtc(report.now)} UTC`);
      if (report.duration_s !== null && report.duration_s !== undefined) {
        detail.push(`took ${formatDuration(report.duration_s)}`);
      }
    } else if (status === "Failed") {
      detail.push(report.error || "failed");
    } else if (report.created_at) {
      const waited = (Date.now() - parseTime(report.created_at)) / 1000;
      if (waited >= 0) detail.push(`${formatDuration(waited)} so far`);
    }
    $("current-detail").textContent = detail.join(" · ");
    const downloads = $("current-downloads");
    downloads.hidden = status !== "Complete";
    downloads.replaceChildren();
    if (status === "Complete") {
      downloads.append("Download: ", ...downloadLinks(reportId));
    }
  }

  function watchReport(reportId, status) {
    stopWatching();
    reportsState.watching = reportId;
    showCurrent(reportId, { status });
    let delay = 400;
    const poll = async () => {
      if (reportsState.watching !== reportId) return;
      try {
        const report = await api("GET", `/reports/${encodeURIComponent(reportId)}`);
        if (reportsState.watching !== reportId) return;
        showCurrent(reportId, report);
        // ... and the list follows the panel.
        const row = document.querySelector(`#reports-body tr[data-report-id="${CSS.escape(reportId)}"]`);
        if (row) row.replaceWith(reportRow(report));
        if (report.status === "Complete" || report.status === "Failed") {
          stopWatching();
          // The panel now tells the outcome: "Report started." is stale.
          if (reportsState.startedMessage && $("report-message").textContent === reportsState.startedMessage) {
            showMessage($("report-message"), "");
          }
          loadReports();
          return;
        }
      } catch (error) {
        if (error.status === 404) {
          stopWatching(true);
          showMessage($("report-message"), "The report was deleted.");
          return;
        }
        showMessage($("report-message"), `Checking the report: ${error.message}`, true);
      }
      delay = Math.min(delay * 1.5, 3000);
      reportsState.watchTimer = setTimeout(poll, delay);
    };
    reportsState.watchTimer = setTimeout(poll, 0);
  }

  function setUpReports() {
    $("trigger-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const asOf = $("as-of").value.trim();
      const body = { interpolation: $("interpolation").value };
      if (asOf) body.as_of = asOf;
      triggerReport(body, $("trigger"));
    });
    $("status-filter").addEventListener("change", () => {
      reportsState.status = $("status-filter").value;
      reportsState.offset = 0;
      loadReports();
    });
    $("refresh-reports").addEventListener("click", loadReports);
    $("page-prev").addEventListener("click", () => {
      reportsState.offset = Math.max(0, reportsState.offset - PAGE_SIZE);
      loadReports();
    });
    $("page-next").addEventListener("click", () => {
      reportsState.offset += PAGE_SIZE;
      loadReports();
    });
    loadReports();
  }

  // ------------------------------------------------------------------- stores

  const storeState = {
    storeId: null,
    searchTimer: null,
    searchSeq: 0,
    loadSeq: 0,
    span: null,
    timeline: null,
  };

  function storeCount(n) {
    return `${n} ${n === 1 ? "store" : "stores"}`;
  }

  async function searchStores(text) {
    const seq = ++storeState.searchSeq;
    const list = $("store-results");
    try {
      const page = await api("GET", `/stores${query({ query: text, limit: 24 })}`);
      if (seq !== storeState.searchSeq) return; // a newer search answered first
      list.replaceChildren(
        ...page.items.map((store) => {
          const button = el(
            "button",
            {
              type: "button",
              "data-store-id": store.store_id,
              "aria-pressed": String(store.store_id === storeState.storeId),
            },
            el("span", { class: "result-id" }, store.store_id),
            el(
              "span",
              { class: "result-meta" },
              `${store.timezone || "default time zone"} · ${store.polls} polls`,
            ),
          );
          button.addEventListener("click", () => selectStore(store.store_id));
          return el("li", {}, button);
        }),
      );
      list.dataset.query = text; // which search the list shows
      const shown = page.items.length;
      let message;
      if (page.total === 0) message = text ? `No store id starts with “${text}”.` : "No stores yet.";
      else if (shown < page.total) message = `Showing ${shown} of ${storeCount(page.total)}: type more to narrow.`;
      else message = `${storeCount(page.total)} found.`;
      showMessage($("search-message"), message);
    } catch (error) {
      if (seq !== storeState.searchSeq) return;
      showMessage($("search-message"), `Search failed: ${error.message}`, true);
    }
  }

  function markSelected() {
    for (const button of $("store-results").querySelectorAll("button[data-store-id]")) {
      button.setAttribute("aria-pressed", String(button.dataset.storeId === storeState.storeId));
    }
  }

  async function selectStore(storeId, span = null) {
    storeState.storeId = storeId;
    storeState.span = span;
    markSelected();
    const seq = ++storeState.loadSeq;
    const id = encodeURIComponent(storeId);
    const interpolation = $("chart-interpolation").value;
    showMessage($("store-message"), `Loading store ${storeId}…`);
    try {
      const [summary, timeline] = await Promise.all([
        api("GET", `/store_summary/${id}`),
        api(
          "GET",
          `/stores/${id}/timeline${query({
            start: span && span.start,
            end: span && span.end,
            interpolation,
          })}`,
        ),
      ]);
      if (seq !== storeState.loadSeq) return;
      storeState.timeline = timeline;
      storeState.span = { start: timeline.start, end: timeline.end };
      $("store-view").hidden = false;
      renderSummary(summary);
      renderTimeline(timeline);
      showMessage($("store-message"), "");
      if (location.hash !== `#store=${id}`) history.replaceState(null, "", `#store=${id}`);
    } catch (error) {
      if (seq !== storeState.loadSeq) return;
      if (error.status === 404) {
        // A stale link or a typo: say so rather than keep another store's chart.
        storeState.storeId = null;
        storeState.model = null;
        markSelected();
        $("store-view").hidden = true;
        showMessage($("store-message"), `No store has the id “${storeId}”.`, true);
        return;
      }
      showMessage($("store-message"), `Could not load store ${storeId}: ${error.message}`, true);
    }
  }

  function shiftWeek(direction) {
    if (!storeState.storeId || !storeState.span) return;
    const start = parseTime(storeState.span.start);
    const end = parseTime(storeState.span.end);
    const width = Math.max(end - start, HOUR_MS);
    selectStore(storeState.storeId, {
      start: new Date(start + direction * width).toISOString(),
      end: new Date(end + direction * width).toISOString(),
    });
  }

  /** One line per weekday: its opening hours, or "closed". */
  function weeklyHours(rows) {
    return WEEKDAYS.map((name, day) => {
      const times = rows
        .filter((row) => row.day === day)
        .map((row) => `${String(row.start).slice(0, 5)}–${String(row.end).slice(0, 5)}`);
      return { day: name.slice(0, 3), text: times.length ? times.join(", ") : "closed" };
    });
  }

  function renderSummary(summary) {
    $("summary-store-id").textContent = summary.store_id;
    const zone = safeZone(summary.timezone);
    const first = parseTime(summary.first_poll);
    const last = parseTime(summary.last_poll);
    const rows = [
      ["Time zone", summary.timezone_is_default ? `${summary.timezone} (default)` : summary.timezone],
      ["Polls", String(summary.polls)],
      ["First poll", first === null ? "—" : formatLocal(first, zone)],
      ["Last poll", last === null ? "—" : formatLocal(last, zone)],
    ];
    if (summary.has_business_hours) {
      rows.push(["Open days", `${summary.business_days} of 7`]);
      const list = el("ul", { class: "hours-list" });
      for (const line of weeklyHours(summary.business_hours)) {
        list.append(el("li", {}, el("span", { class: "hours-day" }, line.day), line.text));
      }
      rows.push(["Hours (local)", list]);
    } else {
      rows.push(["Hours (local)", "Open 24 hours, 7 days (no hours given)"]);
    }
    $("summary").replaceChildren(
      ...rows.flatMap(([term, value]) => [el("dt", {}, term), el("dd", {}, value)]),
    );
  }

  function safeZone(zone) {
    return knownZone(zone) ? zone : "UTC";
  }

  // -------------------------------------------------------------------- chart

  /** Sorted intervals [start, end) in ms, clipped to [lo, hi). */
  function clip(intervals, lo, hi) {
    const out = [];
    for (const item of intervals) {
      const start = Math.max(item.start, lo);
      const end = Math.min(item.end, hi);
      if (end > start) out.push({ ...item, start, end });
    }
    return out;
  }

  /** Pieces of `a` that lie inside the union of sorted, disjoint `b`. */
  function intersect(a, b) {
    const out = [];
    for (const item of a) {
      for (const other of b) {
        const start = Math.max(item.start, other.start);
        const end = Math.min(item.end, other.end);
        if (end > start) out.push({ ...item, start, end });
      }
    }
    return out;
  }

  function total(intervals) {
    return intervals.reduce((sum, item) => sum + (item.end - item.start), 0);
  }

  /**
   * The local calendar days the span touches, as UTC ranges [start, end).
   * Offsets are whole quarter hours in every zone in use, so a local date
   * changes only on a UTC quarter hour: stepping over them finds every
   * midnight exactly, including DST days of 23 or 25 hours and days that
   * start at 01:00 because midnight was skipped.
   */
  function localDays(startMs, endMs, zone) {
    const step = 15 * 60 * 1000;
    const days = [];
    let current = { date: localParts(startMs, zone).date, start: startMs };
    for (let t = Math.floor(startMs / step) * step + step; t < endMs; t += step) {
      const date = localParts(t, zone).date;
      if (date !== current.date) {
        days.push({ ...current, end: t });
        current = { date, start: t };
      }
    }
    days.push({ ...current, end: endMs });
    return days;
  }

  function toIntervals(items, extra = () => ({})) {
    return (items || [])
      .map((item) => ({ start: parseTime(item.start), end: parseTime(item.end), ...extra(item) }))
      .filter((item) => item.start !== null && item.end !== null && item.end > item.start)
      .sort((a, b) => a.start - b.start);
  }

  function renderTimeline(timeline) {
    const requestedZone = timeline.timezone || "America/Chicago";
    const zone = safeZone(requestedZone);
    const startMs = parseTime(timeline.start);
    const endMs = parseTime(timeline.end);
    const open = toIntervals(timeline.open);
    const status = toIntervals(timeline.status, (item) => ({ active: Boolean(item.active) }));
    const polls = (timeline.polls || [])
      .map((poll) => ({ t: parseTime(poll.t), active: Boolean(poll.active) }))
      .filter((poll) => poll.t !== null)
      .sort((a, b) => a.t - b.t);
    const model = { zone, requestedZone, startMs, endMs, open, status, polls };
    storeState.model = model;

    $("chart-heading").textContent = `Week in local time (${requestedZone})`;
    const zoneNote = zone === requestedZone ? "" : ` — this browser does not know ${requestedZone}, shown in UTC`;
    $("chart-span").textContent =
      startMs === null || endMs === null
        ? "No data."
        : `${formatLocal(startMs, zone)} to ${formatLocal(endMs, zone)}${zoneNote}`;

    const counted = intersect(status, open);
    const openMs = total(clip(open, startMs, endMs));
    const upMs = total(counted.filter((s) => s.active));
    const downMs = total(counted.filter((s) => !s.active));
    const totals = $("chart-totals");
    totals.replaceChildren();
    if (status.length === 0) {
      totals.append("No polls in or before this span: status unknown.");
    } else {
      const share = openMs > 0 ? ` (${((100 * upMs) / openMs).toFixed(1)}%)` : "";
      totals.append(
        `Business hours ${hours(openMs)} h · `,
        el("span", { class: "up" }, `up ${hours(upMs)} h${share}`),
        " · ",
        el("span", { class: "down" }, `down ${hours(downMs)} h`),
        ` · ${polls.length} polls`,
      );
    }
    drawChart(model);
    renderDayTable(model);
  }

  function renderDayTable(model) {
    const { zone, startMs, endMs, open, status, polls } = model;
    const body = $("day-body");
    body.replaceChildren();
    if (startMs === null || endMs === null || endMs <= startMs) return;
    for (const day of localDays(startMs, endMs, zone)) {
      const dayOpen = clip(open, day.start, day.end);
      const counted = intersect(clip(status, day.start, day.end), dayOpen);
      const dayPolls = polls.filter((p) => p.t >= day.start && p.t < day.end);
      const weekday = localParts(day.start, zone).weekday;
      body.append(
        el(
          "tr",
          {},
          el("td", { class: "nowrap" }, `${weekday} ${day.date}`),
          el("td", { class: "num" }, hours(total(dayOpen))),
          el("td", { class: "num" }, hours(total(counted.filter((s) => s.active)))),
          el("td", { class: "num" }, hours(total(counted.filter((s) => !s.active)))),
          el("td", { class: "num" }, String(dayPolls.filter((p) => p.active).length)),
          el("td", { class: "num" }, String(dayPolls.filter((p) => !p.active).length)),
        ),
      );
    }
  }

  function drawChart(model) {
    const { zone, startMs, endMs, open, status, polls } = model;
    const box = $("chart");
    if (startMs === null || endMs === null || endMs <= startMs) {
      box.replaceChildren(el("p", { class: "muted" }, "Nothing to draw."));
      return;
    }
    const width = Math.max(320, Math.round(box.clientWidth || 900));
    const narrow = width < 640;
    const labelWidth = narrow ? 62 : 104;
    const right = 10;
    const top = 22;
    const rowHeight = narrow ? 36 : 40;
    const days = localDays(startMs, endMs, zone);
    const height = top + days.length * rowHeight + 6;
    const plot = width - labelWidth - right;
    const x = (localHours) => labelWidth + (plot * Math.min(Math.max(localHours, 0), 24)) / 24;

    const chartTitle = `Store ${storeState.storeId}: business hours, estimated status and polls, one row per local day`;
    const svg = svgEl("svg", {
      viewBox: `0 0 ${width} ${height}`,
      width,
      height,
      role: "img",
      "aria-labelledby": "chart-svg-title chart-svg-desc",
      "data-zone": zone,
    });
    svg.append(
      svgEl("title", { id: "chart-svg-title" }, chartTitle),
      svgEl("desc", { id: "chart-svg-desc" }, $("chart-totals").textContent),
    );

    // Hour grid and labels, in local clock time.
    const grid = svgEl("g", { class: "hours-axis", "aria-hidden": "true" });
    const every = narrow ? 6 : 3;
    for (let h = 0; h <= 24; h += every) {
      grid.append(
        svgEl("line", { class: "grid", x1: x(h), x2: x(h), y1: top - 4, y2: height - 6 }),
        svgEl(
          "text",
          { x: x(h), y: top - 8, "text-anchor": h === 0 ? "start" : h === 24 ? "end" : "middle" },
          `${String(h).padStart(2, "0")}:00`,
        ),
      );
    }
    svg.append(grid);

    days.forEach((day, index) => {
      const y = top + index * rowHeight;
      const row = svgEl("g", { class: "day", "data-date": day.date });
      const first = localParts(day.start, zone);
      // Local clock time; a moment already on the next date (the end of the
      // day) is 24:00, not 00:00.
      const xOf = (ms) => {
        const parts = localParts(ms, zone);
        return parts.date === day.date ? x(parts.hours) : x(24);
      };
      const span = (a, b) => {
        const x1 = xOf(a);
        const x2 = xOf(b);
        return { x: Math.min(x1, x2), w: Math.max(Math.abs(x2 - x1), 0.75) };
      };
      const dayLabel = narrow ? `${first.weekday} ${day.date.slice(8)}` : `${first.weekday} ${day.date.slice(5).replace("-", "/")}`;
      row.append(
        svgEl("text", { class: "day-label", x: 0, y: y + rowHeight / 2 + 4 }, dayLabel),
      );
      const whole = span(day.start, day.end);
      row.append(
        svgEl("rect", { class: "track", x: whole.x, y: y + 3, width: whole.w, height: rowHeight - 6 }),
      );

      const openGroup = svgEl("g", { class: "open-hours" });
      for (const piece of clip(open, day.start, day.end)) {
        const s = span(piece.start, piece.end);
        openGroup.append(
          svgEl(
            "rect",
            { class: "open", x: s.x, y: y + 3, width: s.w, height: rowHeight - 6, "data-kind": "open" },
            svgTitle(`Open ${localParts(piece.start, zone).clock}–${piece.end >= day.end ? "24:00" : localParts(piece.end, zone).clock}`),
          ),
        );
      }
      row.append(openGroup);

      // The estimated status band: faded outside business hours, where it
      // does not count towards uptime or downtime.
      const bandY = y + rowHeight - 14;
      const band = svgEl("g", { class: "status-band" });
      const dayStatus = clip(status, day.start, day.end);
      for (const piece of dayStatus) {
        const s = span(piece.start, piece.end);
        band.append(
          svgEl("rect", {
            class: `${piece.active ? "band-up" : "band-down"} outside`,
            x: s.x,
            y: bandY,
            width: s.w,
            height: 8,
          }),
        );
      }
      for (const piece of intersect(dayStatus, clip(open, day.start, day.end))) {
        const s = span(piece.start, piece.end);
        const label = `${piece.active ? "Up" : "Down"} ${localParts(piece.start, zone).clock}–${piece.end >= day.end ? "24:00" : localParts(piece.end, zone).clock} (${hours(piece.end - piece.start)} h)`;
        band.append(
          svgEl(
            "rect",
            {
              class: piece.active ? "band-up" : "band-down",
              x: s.x,
              y: bandY,
              width: s.w,
              height: 8,
              "data-kind": piece.active ? "up" : "down",
            },
            svgTitle(label),
          ),
        );
      }
      row.append(band);

      const marks = svgEl("g", { class: "polls" });
      const pollY = y + 12;
      for (const poll of polls) {
        const last = index === days.length - 1;
        if (poll.t < day.start || poll.t > day.end || (poll.t === day.end && !last)) continue;
        const px = xOf(poll.t);
        const label = `Poll ${formatLocal(poll.t, zone)}: ${poll.active ? "active" : "inactive"}`;
        const mark = poll.active
          ? svgEl("circle", { class: "poll-active", cx: px, cy: pollY, r: 4, "data-kind": "poll-active" })
          : svgEl("path", {
              class: "poll-inactive",
              d: `M${px - 3.5} ${pollY - 3.5}L${px + 3.5} ${pollY + 3.5}M${px + 3.5} ${pollY - 3.5}L${px - 3.5} ${pollY + 3.5}`,
              "data-kind": "poll-inactive",
            });
        mark.append(svgTitle(label));
        marks.append(mark);
      }
      row.append(marks);
      svg.append(row);
    });

    box.replaceChildren(svg);
  }

  function setUpStores() {
    const input = $("store-query");
    $("search-form").addEventListener("submit", (event) => {
      event.preventDefault();
      clearTimeout(storeState.searchTimer);
      searchStores(input.value.trim());
    });
    input.addEventListener("input", () => {
      clearTimeout(storeState.searchTimer);
      storeState.searchTimer = setTimeout(() => searchStores(input.value.trim()), 250);
    });
    $("chart-interpolation").addEventListener("change", () => {
      if (storeState.storeId) selectStore(storeState.storeId, storeState.span);
    });
    $("week-earlier").addEventListener("click", () => shiftWeek(-1));
    $("week-later").addEventListener("click", () => shiftWeek(1));
    $("store-report").addEventListener("click", (event) => {
      if (!storeState.storeId) return;
      const body = { interpolation: $("chart-interpolation").value, store_ids: [storeState.storeId] };
      $("report-message").scrollIntoView({ block: "nearest" });
      triggerReport(body, event.currentTarget);
    });
    let resizeTimer = null;
    window.addEventListener("resize", () => {
      clearTimeout(resizeTimer);
      resizeTimer = setTimeout(() => {
        if (storeState.model && !$("store-view").hidden) drawChart(storeState.model);
      }, 150);
    });
    searchStores("");
    const match = /^#store=(.+)$/.exec(location.hash);
    if (match) {
      try {
        selectStore(decodeURIComponent(match[1]));
      } catch {
        // A malformed link: ignore it.
      }
    }
  }

  setUpApiKey();
  setUpReports();
  setUpStores();
})();
