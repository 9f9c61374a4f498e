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
    const labels = { csv: "CSV", json: "JSON", parquet: "Parquet", xlsx: "XLSX" };
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
    const parts = [report.kind && report.kind !== "stores" ? `${report.kind}, ${report.interpolation}` : report.interpolation];
    if (report.max_gap !== null && report.max_gap !== undefined) parts.push(`max gap ${report.max_gap} min`);
    if (report.from && report.to) parts.push(`${report.from} to ${report.to}`);
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
    const actions = el("td", { class: "nowrap" });
    if (report.status === "Complete") {
      const view = el(
        "button",
        {
          type: "button",
          class: "secondary",
          "aria-label": `View the results of report ${report.report_id}`,
          "data-action": "view",
        },
        "View",
      );
      view.addEventListener("click", () => openResults(report.report_id, report));
      actions.append(view, " ");
    }
    actions.append(remove);
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
      actions,
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
      const message = optionsRefused(error, body)
        ? "This server does not offer these report options (kind, max gap or dates) yet."
        : `Could not start the report: ${error.message}`;
      showMessage($("report-message"), message, true);
      onUnauthorized(error);
    } finally {
      button.disabled = false;
    }
  }

  /** A server that predates report kinds refuses their fields by name. */
  function optionsRefused(error, body) {
    const sent = ["kind", "max_gap", "from", "to"].filter((name) => name in body);
    return (
      error.status === 422 &&
      /Extra inputs are not permitted/.test(error.message) &&
      sent.some((name) => error.message.includes(`${name}: Extra inputs`))
    );
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
      const view = el("button", { type: "button", class: "secondary", "data-action": "view" }, "View results");
      view.addEventListener("click", () => openResults(reportId, report.now ? report : null));
      downloads.append("Download: ", ...downloadLinks(reportId), " ", view);
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
      const kind = $("report-kind").value;
      // Only what differs from the take-home report is sent: a plain report
      // stays the same request it always was.
      if (kind !== "stores") body.kind = kind;
      const maxGap = $("report-max-gap").value.trim();
      if (maxGap) body.max_gap = minutesValue(maxGap);
      if (kind === "daily") {
        if ($("report-from").value) body.from = $("report-from").value;
        if ($("report-to").value) body.to = $("report-to").value;
      }
      triggerReport(body, $("trigger"));
    });
    $("report-kind").addEventListener("change", () => {
      for (const field of document.querySelectorAll("[data-for-kind]")) {
        field.hidden = field.dataset.forKind !== $("report-kind").value;
      }
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
            max_gap: $("chart-max-gap").value.trim(),
          })}`,
        ),
      ]);
      if (seq !== storeState.loadSeq) return;
      // The trend belongs to one store: another store's is cleared.
      if (storeState.trendFor !== storeId) {
        $("trend").replaceChildren();
        showMessage($("trend-message"), "");
        storeState.trendFor = storeId;
      }
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
    // active: true (up), false (down) or null (no poll speaks for it).
    const status = toIntervals(timeline.status, (item) => ({
      active: item.active === null || item.active === undefined ? null : Boolean(item.active),
    }));
    const specialDates = new Map();
    for (const row of timeline.special_hours || []) {
      const text = row.start === null ? "closed" : `${row.start.slice(0, 5)}–${row.end.slice(0, 5)}`;
      specialDates.set(row.date, [...(specialDates.get(row.date) || []), text]);
    }
    const polls = (timeline.polls || [])
      .map((poll) => ({ t: parseTime(poll.t), active: Boolean(poll.active) }))
      .filter((poll) => poll.t !== null)
      .sort((a, b) => a.t - b.t);
    const model = { zone, requestedZone, startMs, endMs, open, status, polls, specialDates };
    storeState.model = model;

    $("chart-heading").textContent = `Week in local time (${requestedZone})`;
    const zoneNote = zone === requestedZone ? "" : ` — this browser does not know ${requestedZone}, shown in UTC`;
    $("chart-span").textContent =
      startMs === null || endMs === null
        ? "No data."
        : `${formatLocal(startMs, zone)} to ${formatLocal(endMs, zone)}${zoneNote}`;

    const counted = intersect(status, open);
    const openMs = total(clip(open, startMs, endMs));
    const upMs = total(counted.filter((s) => s.active === true));
    const downMs = total(counted.filter((s) => s.active === false));
    const noDataMs = total(counted.filter((s) => s.active === null));
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
        ...(noDataMs > 0 ? [" · ", el("span", { class: "nodata" }, `no data ${hours(noDataMs)} h`)] : []),
        ` · ${polls.length} polls`,
      );
    }
    renderGapRule(timeline.max_gap_minutes, timeline.interpolation);
    renderOutages(model, counted);
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
          el("td", { class: "nowrap" }, `${weekday} ${day.date}${model.specialDates.has(day.date) ? " (special hours)" : ""}`),
          el("td", { class: "num" }, hours(total(dayOpen))),
          el("td", { class: "num" }, hours(total(counted.filter((s) => s.active === true)))),
          el("td", { class: "num" }, hours(total(counted.filter((s) => s.active === false)))),
          el("td", { class: "num" }, hours(total(counted.filter((s) => s.active === null)))),
          el("td", { class: "num" }, String(dayPolls.filter((p) => p.active).length)),
          el("td", { class: "num" }, String(dayPolls.filter((p) => !p.active).length)),
        ),
      );
    }
  }

  function bandClass(active) {
    return active === null ? "band-nodata" : active ? "band-up" : "band-down";
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

      // Special hours replace the weekly hours on their dates: drawn in their own colour.
      const special = model.specialDates.get(day.date);
      if (special) {
        row.append(
          svgEl(
            "rect",
            { class: "special-day", x: whole.x, y: y + 1, width: whole.w, height: 2, "data-kind": "special-day" },
            svgTitle(`Special hours on ${day.date}: ${special.join(", ")}`),
          ),
        );
      }
      const openGroup = svgEl("g", { class: "open-hours" });
      for (const piece of clip(open, day.start, day.end)) {
        const s = span(piece.start, piece.end);
        openGroup.append(
          svgEl(
            "rect",
            {
              class: special ? "open special" : "open",
              x: s.x,
              y: y + 3,
              width: s.w,
              height: rowHeight - 6,
              "data-kind": special ? "special" : "open",
            },
            svgTitle(`${special ? "Special hours" : "Open"} ${localParts(piece.start, zone).clock}–${piece.end >= day.end ? "24:00" : localParts(piece.end, zone).clock}`),
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
            class: `${bandClass(piece.active)} outside`,
            x: s.x,
            y: bandY,
            width: s.w,
            height: 8,
          }),
        );
      }
      for (const piece of intersect(dayStatus, clip(open, day.start, day.end))) {
        const s = span(piece.start, piece.end);
        const label = `${piece.active === null ? "No data" : piece.active ? "Up" : "Down"} ${localParts(piece.start, zone).clock}–${piece.end >= day.end ? "24:00" : localParts(piece.end, zone).clock} (${hours(piece.end - piece.start)} h)`;
        band.append(
          svgEl(
            "rect",
            {
              class: bandClass(piece.active),
              x: s.x,
              y: bandY,
              width: s.w,
              height: 8,
              "data-kind": piece.active === null ? "nodata" : piece.active ? "up" : "down",
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
    $("chart-max-gap").addEventListener("change", () => {
      if (storeState.storeId) selectStore(storeState.storeId, storeState.span);
    });
    $("trend-load").addEventListener("click", loadTrend);
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
    const followHash = () => {
      const match = /^#store=(.+)$/.exec(location.hash);
      if (!match) return;
      try {
        const storeId = decodeURIComponent(match[1]);
        if (storeId !== storeState.storeId) selectStore(storeId);
      } catch {
        // A malformed link: ignore it.
      }
    };
    window.addEventListener("hashchange", followHash);
    followHash();
  }

  // ------------------------------------------------------- dashboard settings

  const settingsState = { maxGap: null };

  async function loadDashboardSettings() {
    try {
      const settings = await api("GET", "/dashboard/settings");
      settingsState.maxGap = settings.max_gap_minutes;
    } catch {
      settingsState.maxGap = null; // an older server: no default gap
    }
    if (settingsState.maxGap !== null) $("chart-max-gap").value = String(settingsState.maxGap);
  }

  /** Minutes as a JSON number when they are one; otherwise the text, for
   * the server to refuse with its reason. */
  function minutesValue(text) {
    return /^\d+(\.\d+)?$/.test(text) ? Number(text) : text;
  }

  function formatMinutes(minutes) {
    return Number.isInteger(minutes) ? String(minutes) : minutes.toFixed(2).replace(/0+$/, "");
  }

  /** The max-gap rule the chart was drawn with, in words. */
  function renderGapRule(maxGap, interpolation) {
    const source =
      maxGap === settingsState.maxGap && maxGap !== null ? " (the server's default)" : "";
    let text;
    if (maxGap === null || maxGap === undefined) {
      text =
        "Max gap: none. Every moment takes the status of the " +
        (interpolation === "previous" ? "poll before it" : "nearest poll") +
        ", however far away.";
    } else {
      const reach =
        interpolation === "previous"
          ? `for at most ${formatMinutes(maxGap)} minutes after it`
          : `for at most ${formatMinutes(maxGap / 2)} minutes either side`;
      text = `Max gap: ${formatMinutes(maxGap)} minutes${source}. A poll speaks ${reach}; business time no poll speaks for is no data, counted as neither up nor down.`;
    }
    $("gap-rule").textContent = text;
  }

  // ------------------------------------------------------------------ outages

  function formatLength(ms) {
    const minutes = ms / 60_000;
    if (minutes < 60) return `${minutes.toFixed(minutes < 10 ? 1 : 0)} min`;
    return `${Math.floor(minutes / 60)} h ${Math.round(minutes % 60)} min`;
  }

  /** Maximal stretches of business time estimated down, from the chart's data. */
  function renderOutages(model, counted) {
    const merged = [];
    for (const piece of counted.filter((s) => s.active === false).sort((a, b) => a.start - b.start)) {
      const last = merged[merged.length - 1];
      if (last && last.end === piece.start) last.end = piece.end;
      else merged.push({ start: piece.start, end: piece.end });
    }
    const body = $("outages-body");
    if (merged.length === 0) {
      body.replaceChildren(el("tr", {}, el("td", { colspan: "3", class: "empty" }, "No outages in this span.")));
      return;
    }
    body.replaceChildren(
      ...merged
        .sort((a, b) => b.end - b.start - (a.end - a.start) || a.start - b.start)
        .map((outage) =>
          el(
            "tr",
            { "data-outage-start": new Date(outage.start).toISOString() },
            el("td", { class: "nowrap" }, formatLocal(outage.start, model.zone)),
            el("td", { class: "nowrap" }, formatLocal(outage.end, model.zone)),
            el("td", { class: "num nowrap" }, formatLength(outage.end - outage.start)),
          ),
        ),
    );
  }

  // -------------------------------------------------------------- daily trend

  const DAY_MS_UTC = 86_400_000;

  /** A report's rows once it is complete; triggers it and waits. */
  async function finishedReportRows(body, onWait) {
    const started = await api("POST", "/trigger_report", body);
    let delay = 300;
    for (;;) {
      const report = await api("GET", `/reports/${encodeURIComponent(started.report_id)}`);
      if (report.status === "Complete") break;
      if (report.status === "Failed") throw new ApiError(0, report.error || "the report failed");
      onWait(report.status);
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 1.5, 2000);
    }
    return api(
      "GET",
      `/reports/${encodeURIComponent(started.report_id)}/rows${query({ sort: "date", order: "asc", limit: 500 })}`,
    );
  }

  async function loadTrend() {
    const storeId = storeState.storeId;
    const model = storeState.model;
    if (!storeId || !model) return;
    const weeks = Number($("trend-weeks").value);
    // The trend ends on the local date of the chart's end.
    const to = localParts(model.endMs - 1, model.zone).date;
    const from = new Date(Date.parse(`${to}T00:00:00Z`) - (weeks * 7 - 1) * DAY_MS_UTC)
      .toISOString()
      .slice(0, 10);
    const body = { kind: "daily", store_ids: [storeId], from, to, interpolation: $("chart-interpolation").value };
    const maxGap = $("chart-max-gap").value.trim();
    if (maxGap) body.max_gap = minutesValue(maxGap);
    const message = $("trend-message");
    showMessage(message, `Computing the daily report ${from} to ${to}…`);
    $("trend-load").disabled = true;
    try {
      const page = await finishedReportRows(body, (status) =>
        showMessage(message, `Daily report ${status.toLowerCase()}…`),
      );
      if (storeState.storeId !== storeId) return;
      drawTrend(page.items, from, to);
      showMessage(message, `Uptime share of business hours per local day, ${from} to ${to}.`);
    } catch (error) {
      if (storeState.storeId !== storeId) return;
      const unsupported = optionsRefused(error, body);
      showMessage(
        message,
        unsupported
          ? "Daily reports are not available on this server."
          : `Could not compute the daily trend: ${error.message}`,
        true,
      );
      onUnauthorized(error);
    } finally {
      $("trend-load").disabled = false;
    }
  }

  function drawTrend(rows, from, to) {
    const box = $("trend");
    const byDate = new Map(rows.map((row) => [row.date, row]));
    const dates = [];
    for (let t = Date.parse(`${from}T00:00:00Z`); t <= Date.parse(`${to}T00:00:00Z`); t += DAY_MS_UTC) {
      dates.push(new Date(t).toISOString().slice(0, 10));
    }
    const width = Math.max(320, Math.round(box.clientWidth || 900));
    const height = 170;
    const left = 38;
    const bottom = 22;
    const plot = width - left - 6;
    const step = plot / Math.max(dates.length, 1);
    const y = (share) => 8 + (height - bottom - 8) * (1 - share);
    const svg = svgEl("svg", {
      viewBox: `0 0 ${width} ${height}`,
      width,
      height,
      role: "img",
      "aria-label": `Uptime share per day from ${from} to ${to}`,
    });
    const axis = svgEl("g", { class: "hours-axis", "aria-hidden": "true" });
    for (const share of [0, 0.5, 1]) {
      axis.append(
        svgEl("line", { class: "grid", x1: left, x2: width - 6, y1: y(share), y2: y(share) }),
        svgEl("text", { x: left - 4, y: y(share) + 4, "text-anchor": "end" }, `${share * 100}%`),
      );
    }
    svg.append(axis);
    dates.forEach((date, index) => {
      const row = byDate.get(date);
      const x = left + index * step + step * 0.15;
      const w = Math.max(step * 0.7, 1);
      if (index % 7 === 0) {
        svg.append(svgEl("text", { x: left + index * step, y: height - 6, class: "trend-label" }, date.slice(5)));
      }
      if (!row || !(row.business_hours > 0)) {
        svg.append(
          svgEl("rect", { class: "trend-closed", x, y: y(0) - 2, width: w, height: 2, "data-kind": "closed" }, svgTitle(`${date}: no business hours`)),
        );
        return;
      }
      const share = row.uptime / row.business_hours;
      const down = row.downtime / row.business_hours;
      const group = svgEl("g", { "data-date": date });
      group.append(
        svgEl("rect", { class: "band-up", x, y: y(share), width: w, height: y(0) - y(share), "data-kind": "trend-up" }),
        svgEl("rect", { class: "band-down", x, y: y(share + down), width: w, height: y(share) - y(share + down) }),
      );
      if (row.nodata > 0) {
        const gap = row.nodata / row.business_hours;
        group.append(svgEl("rect", { class: "band-nodata", x, y: y(share + down + gap), width: w, height: y(share + down) - y(share + down + gap) }));
      }
      group.append(svgTitle(`${date}: up ${(100 * share).toFixed(1)}% of ${row.business_hours} h, down ${row.downtime} h${row.nodata ? `, no data ${row.nodata} h` : ""}`));
      svg.append(group);
    });
    box.replaceChildren(svg);
  }

  // ----------------------------------------------------------------- results

  const ROWS_PAGE = 25;
  const resultsState = {
    reportId: null,
    sort: null,
    order: null,
    offset: 0,
    filters: {},
    columns: [],
    key: "store_id",
    seq: 0,
  };

  const COLUMN_LABELS = {
    store_id: "Store",
    group: "Group",
    stores: "Stores",
    date: "Date",
    business_hours: "Business (h)",
    uptime: "Up (h)",
    downtime: "Down (h)",
    nodata: "No data (h)",
  };

  function columnLabel(name) {
    if (COLUMN_LABELS[name]) return COLUMN_LABELS[name];
    const match = /^(uptime|downtime|nodata)_last_(hour|day|week)$/.exec(name);
    if (!match) return name;
    const what = { uptime: "Up", downtime: "Down", nodata: "No data" }[match[1]];
    return `${what} last ${match[2]} (${match[2] === "hour" ? "min" : "h"})`;
  }

  function percent(share) {
    return share === null || share === undefined ? "—" : `${(100 * share).toFixed(2)}%`;
  }

  function number(value) {
    return typeof value === "number" ? value.toLocaleString("en-US", { maximumFractionDigits: 2 }) : String(value);
  }

  function storeLink(storeId) {
    const link = el("a", { href: `#store=${encodeURIComponent(storeId)}`, "data-store-link": storeId }, storeId);
    link.addEventListener("click", (event) => {
      event.preventDefault();
      selectStore(storeId);
      $("stores-heading").scrollIntoView({ block: "start" });
    });
    return link;
  }

  async function openResults(reportId, report) {
    resultsState.reportId = reportId;
    resultsState.sort = null;
    resultsState.order = null;
    resultsState.offset = 0;
    resultsState.filters = {};
    $("rows-form").reset();
    $("results-view").hidden = false;
    showMessage($("results-message"), `Loading report ${reportId}…`);
    $("results-about").textContent = report
      ? `Report ${reportId}: ${reportOptions(report)}; data up to ${formatUtc(report.now)} UTC.`
      : `Report ${reportId}.`;
    $("results-heading").scrollIntoView({ block: "start" });
    await Promise.all([loadResultsSummary(), loadRows()]);
  }

  function summaryTile(label, value, detail) {
    return el(
      "div",
      { class: "tile" },
      el("span", { class: "tile-label" }, label),
      el("span", { class: "tile-value" }, value),
      detail ? el("span", { class: "tile-detail" }, detail) : null,
    );
  }

  async function loadResultsSummary() {
    const reportId = resultsState.reportId;
    try {
      const summary = await api("GET", `/reports/${encodeURIComponent(reportId)}/summary`);
      if (reportId !== resultsState.reportId) return;
      resultsState.key = summary.key;
      const widest = summary.windows[summary.windows.length - 1];
      const tiles = [
        summaryTile(summary.key === "group" ? "Groups" : "Stores", number(summary.keys), summary.key === "group" ? `${number(summary.stores)} memberships` : null),
      ];
      if (widest) {
        const name = widest.window.replace("_", " ");
        tiles.push(
          summaryTile(`Business ${widest.unit}, ${name}`, number(widest.business)),
          summaryTile(`Uptime share, ${name}`, percent(widest.uptime_share)),
          summaryTile(`With any downtime, ${name}`, number(widest.with_downtime), `of ${number(summary.keys)}`),
        );
        if (widest.nodata_share !== null) tiles.push(summaryTile(`No data, ${name}`, percent(widest.nodata_share)));
      }
      for (const window of summary.windows.slice(0, -1)) {
        tiles.push(summaryTile(`Uptime share, ${window.window.replace("_", " ")}`, percent(window.uptime_share)));
      }
      $("fleet-summary").replaceChildren(...tiles);
      const worst = $("worst-list");
      worst.replaceChildren();
      if (summary.worst.length && widest) {
        const list = el("ol", {});
        for (const item of summary.worst) {
          const id = item[summary.key];
          list.append(
            el(
              "li",
              {},
              summary.key === "store_id" ? storeLink(id) : el("span", {}, id),
              ` — down ${number(item[`downtime${widest.window === "day" ? "" : `_${widest.window}`}`])} ${widest.unit}`,
            ),
          );
        }
        worst.append(el("h3", {}, summary.key === "group" ? "Worst groups" : "Worst stores"), list);
      }
      $("groups-panel").hidden = summary.key !== "store_id";
      if (summary.key === "store_id") loadGroupsTable(reportId);
    } catch (error) {
      showMessage($("results-message"), `Could not summarise the report: ${error.message}`, true);
    }
  }

  function thresholdColumns(columns) {
    return columns.filter((name) => /^(uptime|downtime|nodata|business_hours|stores)/.test(name));
  }

  function renderRowsHead(page) {
    const head = $("rows-head");
    head.replaceChildren(
      ...page.columns.map((name) => {
        const sorted = page.sort === name;
        const button = el(
          "button",
          { type: "button", class: "sort", "data-sort": name },
          columnLabel(name),
          el("span", { class: "sort-mark", "aria-hidden": "true" }, sorted ? (page.order === "desc" ? " ▼" : " ▲") : ""),
        );
        button.addEventListener("click", () => {
          // A new column sorts the worst first for numbers, A to Z for text.
          const numeric = name !== resultsState.key && name !== "date";
          resultsState.order = sorted ? (page.order === "desc" ? "asc" : "desc") : numeric ? "desc" : "asc";
          resultsState.sort = name;
          resultsState.offset = 0;
          loadRows().then(() => {
            const again = document.querySelector(`#rows-head button[data-sort="${CSS.escape(name)}"]`);
            if (again) again.focus();
          });
        });
        const numeric = name !== resultsState.key && name !== "date";
        return el(
          "th",
          {
            scope: "col",
            class: numeric ? "num" : null,
            "aria-sort": sorted ? (page.order === "desc" ? "descending" : "ascending") : "none",
          },
          button,
        );
      }),
    );
    const select = $("rows-threshold-column");
    if (select.options.length === 0 || select.dataset.report !== resultsState.reportId) {
      select.replaceChildren(...thresholdColumns(page.columns).map((name) => el("option", { value: name }, columnLabel(name))));
      const preferred = ["downtime_last_week", "downtime"].find((name) => page.columns.includes(name));
      if (preferred) select.value = preferred;
      select.dataset.report = resultsState.reportId;
    }
  }

  async function loadRows() {
    const reportId = resultsState.reportId;
    if (!reportId) return;
    const seq = ++resultsState.seq;
    const params = new URLSearchParams();
    if (resultsState.sort) params.set("sort", resultsState.sort);
    if (resultsState.order) params.set("order", resultsState.order);
    const filters = resultsState.filters;
    if (filters.prefix) params.set("prefix", filters.prefix);
    if (filters.group) params.set("group", filters.group);
    if (filters.column && filters.min) params.append("min", `${filters.column}:${filters.min}`);
    if (filters.column && filters.max) params.append("max", `${filters.column}:${filters.max}`);
    params.set("limit", String(ROWS_PAGE));
    params.set("offset", String(resultsState.offset));
    try {
      const page = await api("GET", `/reports/${encodeURIComponent(reportId)}/rows?${params}`);
      if (seq !== resultsState.seq) return;
      resultsState.columns = page.columns;
      resultsState.key = page.columns[0] === "group" ? "group" : resultsState.key;
      renderRowsHead(page);
      const body = $("rows-body");
      body.replaceChildren(
        ...page.items.map((item) =>
          el(
            "tr",
            {},
            ...page.columns.map((name) => {
              const value = item[name];
              if (name === "store_id") return el("td", {}, storeLink(value));
              const numeric = typeof value === "number";
              return el("td", { class: numeric ? "num" : "nowrap" }, numeric ? number(value) : String(value ?? "—"));
            }),
          ),
        ),
      );
      if (page.items.length === 0) {
        body.append(el("tr", {}, el("td", { colspan: String(page.columns.length), class: "empty" }, "No rows match.")));
      }
      const first = page.total === 0 ? 0 : page.offset + 1;
      const last = page.offset + page.items.length;
      $("rows-info").textContent = `${number(first)}–${number(last)} of ${number(page.total)}${page.total < page.rows ? ` (${number(page.rows)} in the report)` : ""}`;
      $("rows-prev").disabled = page.offset === 0;
      $("rows-next").disabled = last >= page.total;
      showMessage($("results-message"), "");
    } catch (error) {
      if (seq !== resultsState.seq) return;
      showMessage($("results-message"), `Could not read the report: ${error.message}`, true);
    }
  }

  async function loadGroupChoices() {
    try {
      const page = await api("GET", `/groups${query({ limit: 1000 })}`);
      const select = $("rows-group");
      const current = select.value;
      select.replaceChildren(
        el("option", { value: "" }, "All stores"),
        ...page.items.map((item) => el("option", { value: item.group }, `${item.group} (${item.members})`)),
      );
      select.value = current;
      return page.items;
    } catch {
      return [];
    }
  }

  const GROUPS_SHOWN = 20;

  async function loadGroupsTable(reportId) {
    const groups = (await loadGroupChoices()).slice(0, GROUPS_SHOWN);
    const body = $("groups-body");
    if (groups.length === 0) {
      body.replaceChildren(el("tr", {}, el("td", { colspan: "6", class: "empty" }, "No groups loaded (load a groups feed below).")));
      return;
    }
    const summaries = await Promise.all(
      groups.map((item) =>
        api("GET", `/reports/${encodeURIComponent(reportId)}/summary${query({ group: item.group })}`).catch(() => null),
      ),
    );
    if (reportId !== resultsState.reportId) return;
    const rows = groups
      .map((item, index) => ({ group: item.group, summary: summaries[index] }))
      .filter((row) => row.summary && row.summary.stores > 0);
    const widest = (row) => row.summary.windows[row.summary.windows.length - 1];
    // Worst groups first: the lowest uptime share.
    rows.sort((a, b) => (widest(a).uptime_share ?? 1) - (widest(b).uptime_share ?? 1));
    body.replaceChildren(
      ...rows.map((row) => {
        const window = widest(row);
        const worst = el("td", {});
        row.summary.worst.slice(0, 3).forEach((item, index) => {
          if (index) worst.append(", ");
          worst.append(storeLink(item.store_id));
        });
        if (!row.summary.worst.length) worst.append("none down");
        const pick = el("button", { type: "button", class: "link", "data-group": row.group }, row.group);
        pick.addEventListener("click", () => {
          $("rows-group").value = row.group;
          $("rows-form").requestSubmit();
        });
        return el(
          "tr",
          {},
          el("td", {}, pick),
          el("td", { class: "num" }, number(row.summary.stores)),
          el("td", { class: "num" }, percent(window.uptime_share)),
          el("td", { class: "num" }, number(window.downtime)),
          el("td", { class: "num" }, number(window.with_downtime)),
          worst,
        );
      }),
    );
    if (rows.length === 0) {
      body.replaceChildren(el("tr", {}, el("td", { colspan: "6", class: "empty" }, "No group has a store in this report.")));
    }
  }

  function setUpResults() {
    $("rows-form").addEventListener("submit", (event) => {
      event.preventDefault();
      resultsState.filters = {
        prefix: $("rows-prefix").value,
        group: $("rows-group").value,
        column: $("rows-threshold-column").value,
        min: $("rows-min").value.trim(),
        max: $("rows-max").value.trim(),
      };
      resultsState.offset = 0;
      loadRows();
    });
    $("rows-prev").addEventListener("click", () => {
      resultsState.offset = Math.max(0, resultsState.offset - ROWS_PAGE);
      loadRows();
    });
    $("rows-next").addEventListener("click", () => {
      resultsState.offset += ROWS_PAGE;
      loadRows();
    });
    loadGroupChoices();
  }

  // ----------------------------------------------------------------- uploads

  async function upload(feed, file, strict) {
    const form = new FormData();
    form.append("file", file, file.name);
    const headers = { Accept: "application/json" };
    const key = apiKey();
    if (key) headers["X-API-Key"] = key;
    let response;
    try {
      response = await fetch(`/ingest/${encodeURIComponent(feed)}${query({ strict: strict ? "true" : "" })}`, {
        method: "POST",
        headers,
        body: form,
      });
    } catch {
      throw new ApiError(0, "The server cannot be reached.");
    }
    const data = await response.json().catch(() => null);
    if (!response.ok) {
      const message = response.status === 401 ? "The server needs a valid API key: enter it at the top of the page." : (data && data.error) || `${response.status} ${response.statusText}`;
      throw new ApiError(response.status, message);
    }
    return data;
  }

  async function showRejects(ingestId) {
    const page = await api("GET", `/ingests/${ingestId}/rejects${query({ limit: 100 })}`);
    $("upload-rejects").hidden = page.items.length === 0;
    $("rejects-body").replaceChildren(
      ...page.items.map((item) =>
        el("tr", {}, el("td", { class: "num" }, String(item.line)), el("td", {}, item.reason), el("td", {}, el("code", {}, item.raw))),
      ),
    );
    if (page.total > page.items.length) {
      $("rejects-body").append(el("tr", {}, el("td", { colspan: "3", class: "empty" }, `… and ${page.total - page.items.length} more (GET /ingests/${ingestId}/rejects).`)));
    }
  }

  function setUpUploads() {
    $("upload-form").addEventListener("submit", async (event) => {
      event.preventDefault();
      const file = $("upload-file").files[0];
      const feed = $("upload-feed").value;
      const message = $("upload-message");
      if (!file) {
        showMessage(message, "Choose a CSV file first.", true);
        return;
      }
      $("upload-button").disabled = true;
      $("upload-rejects").hidden = true;
      showMessage(message, `Uploading ${file.name}…`);
      try {
        const result = await upload(feed, file, $("upload-strict").checked);
        showMessage(
          message,
          `${file.name} (${feed}): loaded ${number(result.loaded)} rows, rejected ${number(result.rejected)}.` +
            (result.committed ? "" : " Nothing was kept (strict)."),
          result.rejected > 0,
        );
        if (result.rejected > 0) await showRejects(result.ingest_id);
        if (feed === "groups") loadGroupChoices();
        searchStores($("store-query").value.trim());
      } catch (error) {
        showMessage(message, `Could not load ${file.name}: ${error.message}`, true);
        onUnauthorized(error);
      } finally {
        $("upload-button").disabled = false;
      }
    });
  }

  setUpApiKey();
  setUpReports();
  setUpResults();
  setUpUploads();
  loadDashboardSettings().finally(setUpStores);
})();
