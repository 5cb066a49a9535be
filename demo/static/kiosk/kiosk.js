// The demo kiosk: the customer's journey through the public kiosk API, as a real kiosk walks it.
//   0. GET  /api/v1/kiosk/packages?location_id=…         -> the menu (again for each customer)
//   1. POST /api/v1/transactions                         -> QR image (qr.svg) and a countdown
//   2. GET  /api/v1/transactions/external/{id} every 3 s -> COMPLETED, EXPIRED, FAILED, CANCELLED or REFUNDED
//      "Batal" (Cancel): POST /api/v1/transactions/{id}/cancel, then an empty form
//   3. POST /api/v1/transactions/{id}/photos             -> the gallery link, shown as a QR code
// With the simulator, "Pay now" calls POST /api/v1/simulator/transactions/{id}/pay.
//
// Nothing of a customer stays on the page for the next one: "Pelanggan berikutnya" (Next
// customer), "Batal" and "Mulai lagi" (Start again) empty the form, the photos and every message.
// The texts are demo/kiosk.py's TEXT, in Indonesian and English (see "Language" below).
(function () {
  "use strict";

  var POLL_MS = 3000;
  var root = document.getElementById("kiosk");
  var catalog = document.getElementById("kiosk-text");
  if (!root || !catalog) return;
  var config = root.dataset;
  var placeholder = config.salePlaceholder;
  var maxPhotos = parseInt(config.photoMaxCount, 10) || 30;
  var TEXT = JSON.parse(catalog.textContent);

  var sections = {};
  each(root.querySelectorAll("[data-step]"), function (section) {
    sections[section.getAttribute("data-step")] = section;
  });

  // One customer at a time: `session` is replaced on every new start, so answers that arrive for
  // an earlier sale (a slow poll, a late upload) are recognised and dropped.
  var session = null;

  function each(list, fn) {
    Array.prototype.forEach.call(list, fn);
  }

  function $(step, selector) {
    return sections[step].querySelector(selector);
  }

  function url(template, externalId) {
    return template.replace(placeholder, encodeURIComponent(externalId));
  }

  function rupiah(amount) {
    return "Rp " + Number(amount).toLocaleString("id-ID", { maximumFractionDigits: 0 });
  }

  function randomKey() {
    // crypto.randomUUID needs a secure context; getRandomValues works on plain http too.
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  // --- Language ---------------------------------------------------------------------------------
  // Indonesian unless the customer picks English (or the address says ?lang=en). Every text on the
  // page names its TEXT key: static ones in data-t (data-t-alt, data-t-aria-label), the ones this
  // script writes in data-t-message (a list of {key, params}), so a switch redraws them all, error
  // messages and the countdown's status included.
  var language = TEXT[document.documentElement.lang] ? document.documentElement.lang : config.defaultLanguage;
  var languageSwitch = document.querySelector("[data-language-switch]");

  function msg(key, params) {
    return { key: key, params: params };
  }

  function t(key, params) {
    var text = TEXT[language][key];
    if (text === undefined) return key;
    return text.replace(/\{(\w+)\}/g, function (match, name) {
      return params && params[name] !== undefined ? String(params[name]) : match;
    });
  }

  function words(messages) {
    return messages.map(function (m) { return t(m.key, m.params); }).join(" ");
  }

  // Writes a message (or a list of them, or nothing) into an element, and remembers which.
  function say(element, message) {
    var messages = !message ? [] : Array.isArray(message) ? message : [message];
    element.removeAttribute("data-t");
    if (messages.length) element.setAttribute("data-t-message", JSON.stringify(messages));
    else element.removeAttribute("data-t-message");
    element.textContent = words(messages);
  }

  function otherLanguage() {
    return Object.keys(TEXT).filter(function (code) { return code !== language; })[0];
  }

  function redraw() {
    document.documentElement.lang = language;
    each(document.querySelectorAll("[data-t]"), function (element) {
      element.textContent = t(element.getAttribute("data-t"));
    });
    each(document.querySelectorAll("[data-t-message]"), function (element) {
      element.textContent = words(JSON.parse(element.getAttribute("data-t-message")));
    });
    each(document.querySelectorAll("[data-t-alt]"), function (element) {
      element.alt = t(element.getAttribute("data-t-alt"));
    });
    each(document.querySelectorAll("[data-t-aria-label]"), function (element) {
      element.setAttribute("aria-label", t(element.getAttribute("data-t-aria-label")));
    });
    if (languageSwitch) {
      var other = otherLanguage();
      languageSwitch.href = "?lang=" + other;
      languageSwitch.hreflang = other;
      languageSwitch.lang = other;
    }
  }

  // The choice lives in this page's address only (?lang=en): a reload keeps it, nothing else does.
  function setLanguage(code) {
    if (!TEXT[code] || code === language) return;
    language = code;
    redraw();
    var address = new URL(window.location.href);
    if (code === config.defaultLanguage) address.searchParams.delete("lang");
    else address.searchParams.set("lang", code);
    window.history.replaceState(null, "", address.pathname + address.search + address.hash);
  }

  if (languageSwitch) {
    languageSwitch.addEventListener("click", function (event) {
      event.preventDefault();
      setLanguage(otherLanguage());
    });
  }

  // --- Showing things ---------------------------------------------------------------------------
  function show(step) {
    Object.keys(sections).forEach(function (name) {
      sections[name].hidden = name !== step;
    });
    var marker = step === "ended" ? "pay" : step;
    each(document.querySelectorAll("[data-step-marker]"), function (item) {
      if (item.getAttribute("data-step-marker") === marker) item.setAttribute("aria-current", "step");
      else item.removeAttribute("aria-current");
    });
    window.scrollTo(0, 0);
    var heading = sections[step].querySelector("h1");
    if (heading) {
      heading.tabIndex = -1;
      heading.focus({ preventScroll: true });
    }
  }

  function showError(step, message) {
    var box = $(step, "[data-error]");
    if (!box) return;
    say(box, message);
    box.hidden = !box.textContent;
  }

  // The API's answer as {ok, status, body}; a network failure is status 0.
  function call(method, path, body, headers, cache) {
    var options = { method: method, headers: Object.assign({ Accept: "application/json" }, headers || {}) };
    if (cache) options.cache = cache;
    if (body instanceof FormData) {
      options.body = body;
    } else if (body !== undefined) {
      options.body = JSON.stringify(body);
      options.headers["Content-Type"] = "application/json";
    }
    return fetch(path, options).then(
      function (response) {
        return response.json().then(
          function (json) { return { ok: response.ok, status: response.status, body: json }; },
          function () { return { ok: response.ok, status: response.status, body: null }; }
        );
      },
      function () { return { ok: false, status: 0, body: null }; }
    );
  }

  // A refused request in the customer's words, from the answer's message and details (the
  // contract's wording, docs/kiosk-contract.md). Anything else: the status and the server's words.
  function problem(answer) {
    if (answer.status === 0) return msg("error_network");
    var body = answer.body || {};
    var message = body.message || "";
    var details = body.details || {};
    var name = details.filename;
    var fieldErrors = details.errors || [];
    if (answer.status === 429) return msg("error_busy");
    if (answer.status === 401 || message.indexOf("Kiosk key") === 0) return msg("error_kiosk_key");
    if (message === "Price quota exceeded") return msg("error_sold_out");
    if (message === "Price is not offered at this location") return msg("error_not_offered");
    if (message === "Price not found" || message === "Price is inactive") return msg("error_package_gone");
    if (message === "Location not found" || message === "Location is not active") return msg("error_kiosk_off");
    if (message.indexOf("Payment gateway") === 0) return msg("error_gateway");
    if (message === "Voucher not found") return msg("error_voucher_not_found");
    if (message === "Voucher expired") return msg("error_voucher_expired");
    if (message === "Voucher not valid for this package") return msg("error_voucher_package");
    if (message === "Voucher not valid at this location") return msg("error_voucher_location");
    if (message === "Voucher already used") return msg("error_voucher_used");
    if (fieldErrors.some(function (e) { return e.field === "voucher_code"; })) return msg("error_voucher_not_found");
    if (fieldErrors.some(function (e) { return e.field === "email"; })) return msg("error_email");
    if (name !== undefined) {
      if (details.max_size) return msg("error_photo_size", { name: name, max: Math.round(details.max_size / 1048576) });
      if (details.max_pixels) return msg("error_photo_pixels", { name: name });
      if (details.format === "corrupt") return msg("error_photo_damaged", { name: name });
      if (details.format === "polyglot") return msg("error_photo_extra_data", { name: name });
      if (details.format !== undefined) return msg("error_photo_format", { name: name });
      if (details.filenames) return msg("error_storage");
    }
    if (details.max_count) return msg("error_too_many_photos", { max: details.max_count });
    if (message === "Transaction was refunded") return msg("error_refunded");
    if (message === "Transaction payment not completed yet") return msg("error_not_paid");
    if (message.indexOf("Photos already uploaded") === 0) return msg("error_already_uploaded");
    if (answer.status === 413) return msg("error_upload_too_big");
    if (answer.status === 404) return msg("error_not_found");
    if (answer.status >= 500) return msg("error_server");
    return msg("error_http", { status: answer.status, detail: message || "–" });
  }

  // --- 0. The menu -------------------------------------------------------------------------------
  // What this kiosk sells is the API's answer, asked again whenever the kiosk changes, for each new
  // customer, and after a refused package. "no-cache": the browser revalidates with the answer's
  // ETag (a 304 when nothing changed) rather than showing a quota up to max-age seconds old.
  var form = document.getElementById("choose-form");
  var buyButton = form && form.querySelector("[data-buy]");
  var packages = form && form.querySelector("[data-packages]");
  var menuAsked = 0;

  function chosenPackage() {
    var checked = form.querySelector("input[name=price_id]:checked");
    return checked ? checked.value : null;
  }

  function loadMenu() {
    var asked = ++menuAsked;
    var location = form.querySelector("#location").value;
    var path = config.packagesUrl + "?location_id=" + encodeURIComponent(location);
    packages.setAttribute("aria-busy", "true");
    return call("GET", path, undefined, undefined, "no-cache").then(function (answer) {
      if (asked !== menuAsked) return; // the kiosk changed meanwhile: a later answer is coming
      packages.removeAttribute("aria-busy");
      if (answer.status !== 200 || !answer.body) return showMenuProblem(answer);
      renderMenu(answer.body.data);
    });
  }

  function clearMenu() {
    each(packages.querySelectorAll(".price, [data-packages-note], [data-reload-packages]"), function (element) {
      element.remove();
    });
  }

  function note(message) {
    var p = document.createElement("p");
    p.className = "muted packages-note";
    p.setAttribute("data-packages-note", "");
    say(p, message);
    packages.appendChild(p);
  }

  // Keeps the customer's choice when it is still on sale, else the first package on sale.
  function renderMenu(entries) {
    var keep = chosenPackage();
    var onSale = entries.filter(function (entry) { return entry.remaining !== 0; });
    if (!onSale.some(function (entry) { return entry.id === keep; })) keep = onSale.length ? onSale[0].id : null;
    var first = onSale.length ? onSale[0].id : null;
    clearMenu();
    if (!entries.length) note(msg("no_packages"));
    entries.forEach(function (entry) {
      var label = document.createElement("label");
      label.className = "price";
      var input = document.createElement("input");
      input.type = "radio";
      input.name = "price_id";
      input.value = entry.id;
      input.disabled = entry.remaining === 0;
      // The default a new customer gets back (form.reset()), and the current choice.
      input.defaultChecked = entry.id === first;
      input.checked = entry.id === keep;
      label.appendChild(input);
      [["price-amount", rupiah(entry.price)], ["price-description", entry.description]].forEach(function (part) {
        var span = document.createElement("span");
        span.className = part[0];
        span.textContent = part[1];
        label.appendChild(span);
      });
      if (entry.remaining !== null) {
        var left = document.createElement("span");
        left.className = "price-left";
        say(left, entry.remaining === 0 ? msg("sold_out") : msg("remaining", { count: entry.remaining }));
        label.appendChild(left);
        if (entry.remaining === 0) label.classList.add("sold-out");
      }
      packages.appendChild(label);
    });
    buyButton.disabled = !onSale.length;
  }

  function showMenuProblem(answer) {
    clearMenu();
    note([msg("packages_unavailable"), problem(answer)]);
    var retry = document.createElement("button");
    retry.type = "button";
    retry.className = "button button-ghost";
    retry.setAttribute("data-reload-packages", "");
    retry.setAttribute("data-t", "reload_packages");
    retry.textContent = t("reload_packages");
    retry.addEventListener("click", loadMenu);
    packages.appendChild(retry);
    buyButton.disabled = true;
  }

  if (form) {
    form.querySelector("#location").addEventListener("change", loadMenu);
    loadMenu();
  }

  // --- 1. Choose --------------------------------------------------------------------------------
  if (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var price = form.querySelector("input[name=price_id]:checked");
      var email = form.querySelector("#email");
      showError("choose", null);
      if (!price) return showError("choose", msg("pick_package"));
      if (!email.value.trim() || !email.checkValidity()) {
        email.focus();
        return showError("choose", msg("enter_email"));
      }
      buyButton.disabled = true;
      say(buyButton, msg("buying"));
      var request = {
        location_id: parseInt(form.querySelector("#location").value, 10),
        price_id: price.value,
        email: email.value.trim(),
        send_invoice: form.querySelector("#send-invoice").checked,
        voucher_code: form.querySelector("#voucher-code").value.trim() || null,
      };
      call("POST", config.createUrl, request, { "Idempotency-Key": randomKey() }).then(function (answer) {
        buyButton.disabled = false;
        say(buyButton, msg("buy"));
        if (answer.status !== 201) {
          showError("choose", problem(answer));
          // Sold out, or no longer sold here: the menu shows it now.
          if (answer.body && /^Price /.test(answer.body.message || "")) loadMenu();
          return;
        }
        startPayment(answer.body.data, request.email);
      });
    });
  }

  // --- 2. Pay -----------------------------------------------------------------------------------
  var qrImage = $("pay", "[data-qr]");
  var statusLine = $("pay", "[data-status]");
  var payNow = $("pay", "[data-pay-now]");
  var cancelButton = $("pay", "[data-cancel]");

  function startPayment(sale, email) {
    var lifetime = Date.parse(sale.expires_at) - Date.parse(sale.created_at);
    session = {
      externalId: sale.external_id,
      email: email,
      // The countdown runs on this machine's clock from the server's own 15 minutes, so a kiosk
      // whose clock is off still counts the right time.
      deadline: Date.now() + lifetime,
      minutes: Math.round(lifetime / 60000),
      pollTimer: null,
      tickTimer: null,
      files: [],
      rejected: [],
      checking: 0,
    };
    // A voucher that covered the whole price: a free session, already COMPLETED, nothing to pay.
    if (sale.status === "COMPLETED") return outcome(session, "COMPLETED");
    qrImage.src = url(config.qrUrl, sale.external_id);
    $("pay", "[data-amount]").textContent = rupiah(sale.amount);
    $("pay", "[data-sale-id]").textContent = sale.external_id;
    $("pay", "[data-qris]").textContent = sale.qr_string;
    setStatus(msg("waiting"));
    cancelButton.disabled = false;
    say(cancelButton, msg("cancel"));
    if (payNow) payNow.disabled = false;
    show("pay");
    tick(session);
    schedulePoll(session);
  }

  function setStatus(message) {
    say(statusLine, message);
  }

  function tick(current) {
    if (current !== session || current.stopped) return;
    var left = Math.max(0, Math.round((current.deadline - Date.now()) / 1000));
    var minutes = Math.floor(left / 60);
    var seconds = left % 60;
    $("pay", "[data-countdown]").textContent = (minutes < 10 ? "0" : "") + minutes + ":" + (seconds < 10 ? "0" : "") + seconds;
    if (left === 0) {
      // The server decides: the next poll answers EXPIRED (or COMPLETED, if a payment just made it).
      setStatus(msg("time_up"));
      return;
    }
    current.tickTimer = setTimeout(function () { tick(current); }, 1000);
  }

  function schedulePoll(current, delay) {
    clearTimeout(current.pollTimer);
    current.pollTimer = setTimeout(function () { poll(current); }, delay === undefined ? POLL_MS : delay);
  }

  function stop(current) {
    if (!current) return;
    clearTimeout(current.pollTimer);
    clearTimeout(current.tickTimer);
    current.stopped = true;
  }

  function poll(current) {
    if (current !== session || current.stopped) return;
    call("GET", url(config.statusUrl, current.externalId)).then(function (answer) {
      if (current !== session || current.stopped) return;
      if (!answer.ok || !answer.body) {
        setStatus(answer.status === 0 ? msg("reconnecting") : problem(answer));
        return schedulePoll(current);
      }
      if (typeof answer.body.data === "string") {
        stop(current);
        return ended("encrypted", msg("encrypted_text"));
      }
      var status = answer.body.data.status;
      if (status === "PENDING") return schedulePoll(current);
      outcome(current, status);
    });
  }

  // Where a sale that is no longer PENDING takes the customer.
  function outcome(current, status) {
    stop(current);
    if (status === "COMPLETED") return startUpload(current);
    if (status === "EXPIRED") return ended("expired", msg("expired_text", { minutes: current.minutes }));
    if (status === "REFUNDED") return ended("refunded", msg("refunded_text"));
    if (status === "CANCELLED") return ended("cancelled", msg("cancelled_text"));
    return ended("failed", msg("failed_text"));
  }

  function ended(title, message) {
    say(sections.ended.querySelector("[data-ended-title]"), msg(title));
    say(sections.ended.querySelector("[data-ended-message]"), message);
    show("ended");
  }

  if (payNow) {
    payNow.addEventListener("click", function () {
      var current = session;
      if (!current || current.stopped) return;
      payNow.disabled = true;
      setStatus(msg("paying"));
      call("POST", url(config.payUrl, current.externalId), {}).then(function (answer) {
        if (current !== session || current.stopped) return;
        payNow.disabled = false;
        if (!answer.ok) setStatus(problem(answer));
        // Then learn the outcome the way a kiosk does: from the poll.
        schedulePoll(current, 0);
      });
    });
  }

  qrImage.addEventListener("error", function () {
    if (session && !session.stopped && qrImage.getAttribute("src")) setStatus(msg("qr_not_loaded"));
  });

  // The customer walks away: the sale is cancelled at the server, so its quota is free at once and
  // its QR code stops being offered. Paid meanwhile (before the poll saw it): the customer paid,
  // so on to the photos. Anything else (cancelled, expired or failed already, or no answer: the
  // sale then expires on its own) ends in an empty form.
  cancelButton.addEventListener("click", function () {
    var current = session;
    if (!current) return clearForm(false);
    if (current.cancelling) return;
    current.cancelling = true;
    stop(current);
    cancelButton.disabled = true;
    if (payNow) payNow.disabled = true;
    say(cancelButton, msg("cancelling"));
    call("POST", url(config.cancelUrl, current.externalId)).then(function (answer) {
      if (current !== session) return;
      var body = answer.body || {};
      var paidAs = (body.details && body.details.status) || (body.message === "Transaction already paid" ? "COMPLETED" : "");
      if (answer.status === 409 && (paidAs === "COMPLETED" || paidAs === "REFUNDED")) return outcome(current, paidAs);
      clearForm(false);
    });
  });

  // --- 3. Upload --------------------------------------------------------------------------------
  var fileInput = $("upload", "[data-files]");
  var uploadButton = $("upload", "[data-upload]");
  var previews = $("upload", "[data-previews]");
  var rejectedList = $("upload", "[data-rejected]");
  var PHOTO_TYPES = ["image/jpeg", "image/png"];
  var PHOTO_NAME = /\.(jpe?g|png)$/i;

  function startUpload(current) {
    current.files = [];
    current.rejected = [];
    renderPreviews(current);
    showError("upload", null);
    show("upload");
  }

  function clearPreviews() {
    each(previews.querySelectorAll("img"), function (img) { URL.revokeObjectURL(img.src); });
    previews.textContent = "";
    rejectedList.textContent = "";
    rejectedList.hidden = true;
  }

  function renderPreviews(current) {
    clearPreviews();
    current.files.forEach(function (file) {
      var item = document.createElement("li");
      var img = document.createElement("img");
      img.src = URL.createObjectURL(file);
      img.alt = file.name;
      item.appendChild(img);
      previews.appendChild(item);
    });
    // What will not be uploaded, by name and why: never a broken preview.
    current.rejected.forEach(function (rejected) {
      var item = document.createElement("li");
      var name = document.createElement("span");
      var reason = document.createElement("span");
      name.className = "file-name";
      name.textContent = rejected.name;
      reason.className = "file-reason";
      say(reason, msg(rejected.reason));
      item.appendChild(name);
      item.appendChild(reason);
      rejectedList.appendChild(item);
    });
    rejectedList.hidden = current.rejected.length === 0;
    var count = current.files.length;
    uploadButton.disabled = count === 0 || current.checking > 0;
    if (current.checking) say(uploadButton, msg("checking_photos"));
    else if (count === 0) say(uploadButton, msg("upload"));
    else say(uploadButton, count === 1 ? msg("upload_one") : msg("upload_many", { count: count }));
  }

  // Is the file a JPEG or PNG photo? By its type or name first, then by its first bytes (a GIF
  // renamed .jpg), then by the browser opening it as an image (a damaged file): "" or the reason.
  function checkPhoto(file) {
    if (PHOTO_TYPES.indexOf(file.type) < 0 && !PHOTO_NAME.test(file.name)) return Promise.resolve("not_jpeg_or_png");
    return file.slice(0, 8).arrayBuffer().then(
      function (buffer) {
        var b = new Uint8Array(buffer);
        var jpeg = b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff;
        var png = b.length >= 8 && [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a].every(function (v, i) { return b[i] === v; });
        if (!jpeg && !png) return "not_jpeg_or_png";
        return opens(file).then(function (ok) { return ok ? "" : "not_an_image"; });
      },
      function () { return "not_an_image"; }
    );
  }

  function opens(file) {
    return new Promise(function (resolve) {
      var image = new Image();
      var address = URL.createObjectURL(file);
      image.onload = function () {
        URL.revokeObjectURL(address);
        resolve(image.naturalWidth > 0);
      };
      image.onerror = function () {
        URL.revokeObjectURL(address);
        resolve(false);
      };
      image.src = address;
    });
  }

  function addFiles(files) {
    var current = session;
    if (!current || !files.length) return;
    // A new choice: the last upload's error and the last choice's refusals are over.
    showError("upload", null);
    current.rejected = [];
    current.checking += 1;
    renderPreviews(current);
    Promise.all(files.map(checkPhoto)).then(function (verdicts) {
      current.checking -= 1;
      if (current !== session) return;
      var good = [];
      files.forEach(function (file, i) {
        if (verdicts[i]) current.rejected.push({ name: file.name, reason: verdicts[i] });
        else good.push(file);
      });
      var room = Math.max(0, maxPhotos - current.files.length);
      current.files = current.files.concat(good.slice(0, room));
      renderPreviews(current);
      var notes = [];
      var skipped = current.rejected.length;
      if (skipped) notes.push(skipped === 1 ? msg("skipped_one") : msg("skipped_many", { count: skipped }));
      if (good.length > room) notes.push(msg("over_limit", { max: maxPhotos }));
      showError("upload", notes);
    });
  }

  fileInput.addEventListener("change", function () {
    addFiles(Array.prototype.slice.call(fileInput.files));
    fileInput.value = "";
  });

  var PALETTES = [["#9d174d", "#f59e0b"], ["#1d4ed8", "#10b981"], ["#7c3aed", "#ec4899"], ["#0f766e", "#facc15"]];

  // A photo as a booth camera would hand it over: a JPEG, drawn here on a canvas.
  function samplePhoto(number) {
    var canvas = document.createElement("canvas");
    canvas.width = 1200;
    canvas.height = 800;
    var g = canvas.getContext("2d");
    var colors = PALETTES[(number - 1) % PALETTES.length];
    var gradient = g.createLinearGradient(0, 0, canvas.width, canvas.height);
    gradient.addColorStop(0, colors[0]);
    gradient.addColorStop(1, colors[1]);
    g.fillStyle = gradient;
    g.fillRect(0, 0, canvas.width, canvas.height);
    g.fillStyle = "rgba(255, 255, 255, 0.25)";
    for (var i = 0; i < 12; i++) {
      g.beginPath();
      g.arc((i * 337 + number * 91) % canvas.width, (i * 211 + number * 53) % canvas.height, 40 + ((i * 29) % 90), 0, Math.PI * 2);
      g.fill();
    }
    g.fillStyle = "#fff";
    g.textAlign = "center";
    g.font = "bold 150px system-ui, sans-serif";
    g.fillText("Photobox", canvas.width / 2, 360);
    g.font = "bold 64px system-ui, sans-serif";
    g.fillText(t("sample_photo", { number: number }), canvas.width / 2, 470);
    g.font = "44px system-ui, sans-serif";
    g.fillText(new Date().toLocaleString("id-ID"), canvas.width / 2, 550);
    // toDataURL rather than toBlob: Chromium encodes toBlob in idle time, which a busy page may
    // not have for seconds.
    var data = atob(canvas.toDataURL("image/jpeg", 0.88).split(",")[1]);
    var bytes = new Uint8Array(data.length);
    for (var j = 0; j < data.length; j++) bytes[j] = data.charCodeAt(j);
    return new File([bytes], "sample-" + number + ".jpg", { type: "image/jpeg" });
  }

  $("upload", "[data-samples]").addEventListener("click", function () {
    var start = session ? session.files.length : 0;
    addFiles([1, 2, 3].map(function (n) { return samplePhoto(start + n); }));
  });

  uploadButton.addEventListener("click", function () {
    var current = session;
    if (!current || !current.files.length || current.checking) return;
    var data = new FormData();
    current.files.forEach(function (file) { data.append("files", file, file.name); });
    var count = current.files.length;
    uploadButton.disabled = true;
    say(uploadButton, count === 1 ? msg("uploading_one") : msg("uploading_many", { count: count }));
    showError("upload", null);
    call("POST", url(config.photosUrl, current.externalId), data).then(function (answer) {
      if (current !== session) return;
      if (!answer.ok) {
        // A refused photo refuses the whole upload: the choice starts again. After a network
        // error, a server failure or a busy server the same photos can simply be sent again.
        var refused = answer.status === 400 || answer.status === 413;
        if (refused) current.files = [];
        current.rejected = [];
        renderPreviews(current);
        return showError("upload", refused ? [problem(answer), msg("choose_again")] : problem(answer));
      }
      done(current, answer.body);
    });
  });

  // --- 4. The gallery link ----------------------------------------------------------------------
  function done(current, result) {
    $("done", "[data-gallery-qr]").src = config.galleryQrUrl + "?url=" + encodeURIComponent(result.folder_url);
    $("done", "[data-gallery-link]").href = result.folder_url;
    var email = { email: current.email };
    say($("done", "[data-email-note]"), result.email_sent ? msg("emailed", email) : msg("email_later", email));
    show("done");
  }

  // --- The next customer ------------------------------------------------------------------------
  // Empties everything the last customer entered or saw: email, invoice choice, package, photos,
  // the gallery link and every message. The kiosk (which machine this is) stays. The next
  // customer also gets the kiosk's own language back.
  function clearForm(nextCustomer) {
    stop(session);
    session = null;
    if (form) {
      var kiosk = form.querySelector("#location").value;
      form.reset();
      form.querySelector("#location").value = kiosk;
      buyButton.disabled = false;
      say(buyButton, msg("buy"));
      showError("choose", null);
      loadMenu();
    }
    qrImage.removeAttribute("src");
    $("pay", "[data-amount]").textContent = "";
    $("pay", "[data-sale-id]").textContent = "";
    $("pay", "[data-qris]").textContent = "";
    $("pay", "[data-countdown]").textContent = "";
    setStatus(msg("waiting"));
    cancelButton.disabled = false;
    say(cancelButton, msg("cancel"));
    if (payNow) payNow.disabled = false;
    clearPreviews();
    fileInput.value = "";
    uploadButton.disabled = true;
    say(uploadButton, msg("upload"));
    showError("upload", null);
    $("done", "[data-gallery-qr]").removeAttribute("src");
    $("done", "[data-gallery-link]").setAttribute("href", "#");
    say($("done", "[data-email-note]"), null);
    say(sections.ended.querySelector("[data-ended-title]"), msg("not_completed"));
    say(sections.ended.querySelector("[data-ended-message]"), null);
    if (nextCustomer) setLanguage(config.defaultLanguage);
    show("choose");
  }

  each(root.querySelectorAll("[data-restart]"), function (button) {
    button.addEventListener("click", function () { clearForm(false); });
  });
  each(root.querySelectorAll("[data-next-customer]"), function (button) {
    button.addEventListener("click", function () { clearForm(true); });
  });
})();
