// The demo kiosk: the customer's journey through the public kiosk API, as a real kiosk walks it.
//   1. POST /api/v1/transactions                         -> QR image (qr.svg) and a countdown
//   2. GET  /api/v1/transactions/external/{id} every 3 s -> COMPLETED, EXPIRED, FAILED or REFUNDED
//   3. POST /api/v1/transactions/{id}/photos             -> the gallery link, shown as a QR code
// With the simulator, "Pay now" calls POST /api/v1/simulator/transactions/{id}/pay.
(function () {
  "use strict";

  var POLL_MS = 3000;
  var root = document.getElementById("kiosk");
  if (!root) return;
  var config = root.dataset;
  var placeholder = config.salePlaceholder;
  var maxPhotos = parseInt(config.photoMaxCount, 10) || 30;

  var sections = {};
  Array.prototype.forEach.call(root.querySelectorAll("[data-step]"), function (section) {
    sections[section.getAttribute("data-step")] = section;
  });

  // One customer at a time: `session` is replaced on every new start, so answers that arrive for
  // an earlier sale (a slow poll, a late upload) are recognised and dropped.
  var session = null;

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

  function show(step) {
    Object.keys(sections).forEach(function (name) {
      sections[name].hidden = name !== step;
    });
    var marker = step === "ended" ? "pay" : step;
    Array.prototype.forEach.call(document.querySelectorAll("[data-step-marker]"), function (item) {
      if (item.getAttribute("data-step-marker") === marker) item.setAttribute("aria-current", "step");
      else item.removeAttribute("aria-current");
    });
    var heading = sections[step].querySelector("h1");
    if (heading) {
      heading.tabIndex = -1;
      heading.focus({ preventScroll: true });
    }
  }

  function showError(step, message) {
    var box = $(step, "[data-error]");
    box.textContent = message || "";
    box.hidden = !message;
  }

  // The API's answer as {ok, status, body}; a network failure is status 0.
  function call(method, path, body, headers) {
    var options = { method: method, headers: Object.assign({ Accept: "application/json" }, headers || {}) };
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

  function errorMessage(answer) {
    if (answer.status === 0) return "Cannot reach the server. Check the connection and try again.";
    var body = answer.body || {};
    var message = body.message || "Something went wrong (HTTP " + answer.status + ").";
    var errors = body.details && body.details.errors;
    if (errors && errors.length) {
      message += ": " + errors.map(function (e) { return e.field + " – " + e.message; }).join("; ");
    }
    return message;
  }

  // --- 1. Choose --------------------------------------------------------------------------------
  var form = document.getElementById("choose-form");
  if (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var buy = form.querySelector("[data-buy]");
      var price = form.querySelector("input[name=price_id]:checked");
      var email = form.querySelector("#email");
      showError("choose", "");
      if (!price) return showError("choose", "Pick a package.");
      if (!email.value.trim() || !email.checkValidity()) {
        email.focus();
        return showError("choose", "Enter a valid email address: the gallery link is sent there.");
      }
      buy.disabled = true;
      buy.textContent = "Creating your QR code…";
      var request = {
        location_id: parseInt(form.querySelector("#location").value, 10),
        price_id: price.value,
        email: email.value.trim(),
        send_invoice: form.querySelector("#send-invoice").checked,
      };
      call("POST", config.createUrl, request, { "Idempotency-Key": randomKey() }).then(function (answer) {
        buy.disabled = false;
        buy.textContent = "Buy and show the QR code";
        if (answer.status !== 201) return showError("choose", errorMessage(answer));
        startPayment(answer.body.data, request.email);
      });
    });
  }

  // --- 2. Pay -----------------------------------------------------------------------------------
  function startPayment(sale, email) {
    session = {
      externalId: sale.external_id,
      email: email,
      // The countdown runs on this machine's clock from the server's own 15 minutes, so a kiosk
      // whose clock is off still counts the right time.
      deadline: Date.now() + (Date.parse(sale.expires_at) - Date.parse(sale.created_at)),
      pollTimer: null,
      tickTimer: null,
      files: [],
    };
    var qr = $("pay", "[data-qr]");
    qr.src = url(config.qrUrl, sale.external_id);
    $("pay", "[data-amount]").textContent = rupiah(sale.price.price);
    $("pay", "[data-sale-id]").textContent = sale.external_id;
    $("pay", "[data-qris]").textContent = sale.qr_string;
    setStatus("Waiting for payment…");
    show("pay");
    tick(session);
    schedulePoll(session);
  }

  function setStatus(text) {
    $("pay", "[data-status]").textContent = text;
  }

  function tick(current) {
    if (current !== session) return;
    var left = Math.max(0, Math.round((current.deadline - Date.now()) / 1000));
    var minutes = Math.floor(left / 60);
    var seconds = left % 60;
    $("pay", "[data-countdown]").textContent = (minutes < 10 ? "0" : "") + minutes + ":" + (seconds < 10 ? "0" : "") + seconds;
    if (left === 0) {
      // The server decides: the next poll answers EXPIRED (or COMPLETED, if a payment just made it).
      setStatus("Time is up: checking the payment…");
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
        setStatus(answer.status === 0 ? "Connection problem: retrying…" : errorMessage(answer));
        return schedulePoll(current);
      }
      if (typeof answer.body.data === "string") {
        stop(current);
        return ended(
          "Cannot read the payment status",
          "The server encrypts poll answers (ENCRYPTION_ENABLED=true), which this demo page cannot decrypt."
        );
      }
      var status = answer.body.data.status;
      if (status === "PENDING") return schedulePoll(current);
      stop(current);
      if (status === "COMPLETED") return startUpload(current);
      if (status === "EXPIRED") {
        return ended("QR code expired", "The 15 minutes to pay are over and nothing was charged. Start again to get a new QR code.");
      }
      if (status === "REFUNDED") {
        return ended("Payment refunded", "This payment was given back to the customer. Start again for a new session.");
      }
      return ended("Payment failed", "The payment could not be completed and nothing was charged. Please start again.");
    });
  }

  function ended(title, message) {
    sections.ended.querySelector("[data-ended-title]").textContent = title;
    sections.ended.querySelector("[data-ended-message]").textContent = message;
    show("ended");
  }

  var payNow = $("pay", "[data-pay-now]");
  if (payNow) {
    payNow.addEventListener("click", function () {
      var current = session;
      if (!current) return;
      payNow.disabled = true;
      setStatus("Paying…");
      call("POST", url(config.payUrl, current.externalId), {}).then(function (answer) {
        payNow.disabled = false;
        if (current !== session) return;
        if (!answer.ok) setStatus(errorMessage(answer));
        // Then learn the outcome the way a kiosk does: from the poll.
        schedulePoll(current, 0);
      });
    });
  }

  $("pay", "[data-qr]").addEventListener("error", function () {
    if (session && !session.stopped) setStatus("The QR code could not be loaded: checking the sale…");
  });

  $("pay", "[data-cancel]").addEventListener("click", function () {
    restart();
  });

  // --- 3. Upload --------------------------------------------------------------------------------
  var fileInput = $("upload", "[data-files]");
  var uploadButton = $("upload", "[data-upload]");
  var previews = $("upload", "[data-previews]");

  function startUpload(current) {
    current.files = [];
    renderPreviews(current);
    showError("upload", "");
    show("upload");
  }

  function renderPreviews(current) {
    Array.prototype.forEach.call(previews.querySelectorAll("img"), function (img) { URL.revokeObjectURL(img.src); });
    previews.textContent = "";
    current.files.forEach(function (file) {
      var item = document.createElement("li");
      var img = document.createElement("img");
      img.src = URL.createObjectURL(file);
      img.alt = file.name;
      item.appendChild(img);
      previews.appendChild(item);
    });
    var count = current.files.length;
    uploadButton.disabled = count === 0;
    uploadButton.textContent = count ? "Upload " + count + " photo" + (count === 1 ? "" : "s") : "Upload photos";
  }

  function addFiles(files) {
    if (!session) return;
    session.files = session.files.concat(files).slice(0, maxPhotos);
    renderPreviews(session);
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
    g.fillText("Sample photo " + number, canvas.width / 2, 470);
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
    if (!current || !current.files.length) return;
    var data = new FormData();
    current.files.forEach(function (file) { data.append("files", file, file.name); });
    uploadButton.disabled = true;
    uploadButton.textContent = "Uploading " + current.files.length + " photos…";
    showError("upload", "");
    call("POST", url(config.photosUrl, current.externalId), data).then(function (answer) {
      if (current !== session) return;
      if (!answer.ok) {
        // A refused photo refuses the whole upload: start the choice again. After a network
        // error or a server failure the same photos can simply be sent again.
        if (answer.status >= 400 && answer.status < 500) current.files = [];
        renderPreviews(current);
        return showError("upload", errorMessage(answer));
      }
      done(current, answer.body);
    });
  });

  // --- 4. The gallery link ----------------------------------------------------------------------
  function done(current, result) {
    $("done", "[data-gallery-qr]").src = config.galleryQrUrl + "?url=" + encodeURIComponent(result.folder_url);
    $("done", "[data-gallery-link]").href = result.folder_url;
    $("done", "[data-email-note]").textContent = result.email_sent
      ? "We also emailed the link to " + current.email + "."
      : "The email to " + current.email + " could not be sent yet: it will be retried.";
    show("done");
  }

  // --- Start again ------------------------------------------------------------------------------
  function restart() {
    stop(session);
    session = null;
    Array.prototype.forEach.call(previews.querySelectorAll("img"), function (img) { URL.revokeObjectURL(img.src); });
    previews.textContent = "";
    $("pay", "[data-qr]").removeAttribute("src");
    if (form) showError("choose", "");
    show("choose");
  }

  Array.prototype.forEach.call(root.querySelectorAll("[data-restart]"), function (button) {
    button.addEventListener("click", restart);
  });
})();
