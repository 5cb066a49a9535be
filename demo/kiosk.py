"""/kiosk/: a demo kiosk in the browser, walking the customer's journey through the public API.

The page's own script does what a kiosk does (ask for its menu, create the sale, show its QR image,
poll every 3 s, upload the photos, cancel a sale the customer walks away from) with the same
requests a kiosk sends; these views only render the page and draw the gallery link as a QR code. On with DEBUG or
DEMO_KIOSK=true; a 404 otherwise.

The page is for customers, so it speaks Indonesian (LANGUAGE_CODE), with a switch to English that
works without reloading: a sale in progress must survive it. `TEXT` holds every string the
customer can see, in both languages side by side; the view renders the page in one and hands the
script both. `?lang=en` opens the page in English (the script keeps the choice in the address).
"""

import re

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_safe

from core.views import kiosk_enabled
from locations.models import Location
from payments.gateways import simulator_on, simulator_pay_available
from payments.models import EXTERNAL_ID_PATTERN, GALLERY_KEY_PATTERN
from payments.qr import qr_image
from pricing.models import Price

# Stands in for the sale number in URL templates handed to the page's script.
SALE = "EXTERNAL_ID"
PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
_GALLERY_PATH = re.compile(f"{EXTERNAL_ID_PATTERN}/{GALLERY_KEY_PATTERN}")

LANGUAGES = ("id", "en")
# What the customer reads, as (Indonesian, English). Indonesian as on QRIS and photo-booth screens,
# and as the gallery and the email word it ("foto", "galeri", "link", "email"). {name} is filled
# in by the script; keys ending in _one/_many are English's singular and plural.
TEXT: dict[str, tuple[str, str]] = {
    "page_title": ("Kiosk demo · Photobox", "Demo kiosk · Photobox"),
    "brand_tag": ("kiosk demo", "demo kiosk"),
    "language_switch": ("English", "Bahasa Indonesia"),
    "steps": ("Langkah", "Steps"),
    "step_choose": ("Pilih", "Choose"),
    "step_pay": ("Bayar", "Pay"),
    "step_upload": ("Foto", "Photos"),
    "step_done": ("Galeri", "Gallery"),
    "needs_javascript": ("Kiosk demo ini membutuhkan JavaScript.", "This demo kiosk needs JavaScript."),
    # 1. Choose
    "choose_title": ("Siap berfoto?", "Take your photos!"),
    "choose_lead": (
        "Pilih paket, masukkan email Anda, lalu bayar dengan QRIS dari aplikasi apa saja.",
        "Pick a package, enter your email, and pay with any QRIS app.",
    ),
    "kiosk": ("Kiosk", "Kiosk"),
    "package": ("Paket", "Package"),
    "loading_packages": ("Memuat paket…", "Loading the packages…"),
    "no_packages": (
        "Kiosk ini belum menjual paket apa pun. Silakan hubungi petugas.",
        "This kiosk sells no package yet. Please ask the staff.",
    ),
    "packages_unavailable": (
        "Daftar paket tidak dapat dimuat. Silakan coba lagi.",
        "The packages could not be loaded. Please try again.",
    ),
    "reload_packages": ("Muat ulang paket", "Reload the packages"),
    "remaining": ("Sisa {count}", "{count} left"),
    "sold_out": ("Habis", "Sold out"),
    "email": ("Email Anda (link galeri dikirim ke sini)", "Your email (we send the gallery link there)"),
    "send_invoice": ("Kirim juga invoice ke email saya", "Email me an invoice too"),
    "voucher": ("Kode voucher (jika ada)", "Voucher code (if you have one)"),
    "buy": ("Bayar dengan QRIS", "Pay with QRIS"),
    "buying": ("Membuat kode QR…", "Creating your QR code…"),
    "pick_package": ("Pilih paket terlebih dahulu.", "Pick a package."),
    "enter_email": (
        "Masukkan alamat email yang valid: link galeri dikirim ke sana.",
        "Enter a valid email address: the gallery link is sent there.",
    ),
    "nothing_to_sell": (
        "Belum ada kiosk atau paket yang aktif. Jalankan manage.py load_demo_data (atau tambahkan lewat admin), "
        "lalu muat ulang halaman ini.",
        "There is no active kiosk or price yet. Run manage.py load_demo_data (or add them in the admin) and reload "
        "this page.",
    ),
    # 2. Pay
    "pay_title": ("Pindai kode QR untuk membayar", "Scan to pay"),
    "qr_alt": ("Kode QR pembayaran QRIS", "QRIS payment code"),
    "time_left": ("Waktu tersisa", "Time left to pay"),
    "waiting": ("Menunggu pembayaran…", "Waiting for payment…"),
    "paying": ("Memproses pembayaran…", "Paying…"),
    "time_up": ("Waktu habis: memeriksa pembayaran…", "Time is up: checking the payment…"),
    "reconnecting": ("Koneksi terputus: mencoba lagi…", "Connection problem: retrying…"),
    "qr_not_loaded": (
        "Kode QR tidak dapat dimuat: memeriksa transaksi…",
        "The QR code could not be loaded: checking the sale…",
    ),
    "sale": ("No. transaksi", "Sale"),
    "pay_now": ("Bayar sekarang (simulator)", "Pay now (simulator)"),
    "pay_now_note": (
        "Menandai transaksi sebagai lunas lewat simulator pembayaran, jalur yang sama dengan webhook Xendit.",
        "Marks the sale paid through the payment simulator, the same path a Xendit webhook takes.",
    ),
    "simulate_note": (
        "Pembayaran simulasi: gunakan manage.py simulate_payment atau aksi “Simulate payment” pada transaksi di admin.",
        "Simulated payments: use manage.py simulate_payment or the admin's “Simulate payment” action on the sale.",
    ),
    "any_app": (
        "Bayar dengan aplikasi m-banking atau e-wallet apa pun yang mendukung QRIS.",
        "Pay with any QRIS banking or e-wallet app.",
    ),
    "cancel": ("Batal", "Cancel"),
    "cancelling": ("Membatalkan…", "Cancelling…"),
    "qris_string": ("Kode QRIS (teks)", "QRIS string"),
    # 3. Upload
    "upload_title": ("Pembayaran berhasil, terima kasih!", "Paid, thank you! Now the photos"),
    "upload_lead": (
        "Sekarang booth mengambil foto Anda. Pilih beberapa foto, atau pakai foto contoh.",
        "A booth takes the photos now. Choose some pictures, or use sample photos.",
    ),
    "choose_photos": ("Pilih foto…", "Choose photos…"),
    "samples": ("Pakai 3 foto contoh", "Use 3 sample photos"),
    "sample_photo": ("Foto contoh {number}", "Sample photo {number}"),
    "photos_to_upload": ("Foto yang akan diunggah", "Photos to upload"),
    "checking_photos": ("Memeriksa foto…", "Checking the photos…"),
    "upload": ("Unggah foto", "Upload photos"),
    "upload_one": ("Unggah 1 foto", "Upload 1 photo"),
    "upload_many": ("Unggah {count} foto", "Upload {count} photos"),
    "uploading_one": ("Mengunggah 1 foto…", "Uploading 1 photo…"),
    "uploading_many": ("Mengunggah {count} foto…", "Uploading {count} photos…"),
    "not_uploaded": ("Tidak akan diunggah", "Will not be uploaded"),
    "not_jpeg_or_png": ("Bukan foto JPEG atau PNG", "Not a JPEG or PNG photo"),
    "not_an_image": ("Tidak dapat dibuka sebagai gambar", "Cannot be opened as an image"),
    "skipped_one": (
        "1 file tidak akan diunggah: hanya foto JPEG atau PNG yang bisa diterima.",
        "1 file will not be uploaded: only JPEG or PNG photos are accepted.",
    ),
    "skipped_many": (
        "{count} file tidak akan diunggah: hanya foto JPEG atau PNG yang bisa diterima.",
        "{count} files will not be uploaded: only JPEG or PNG photos are accepted.",
    ),
    "over_limit": (
        "Maksimal {max} foto per sesi: foto selebihnya tidak ditambahkan.",
        "At most {max} photos per session: the rest were not added.",
    ),
    "choose_again": ("Silakan pilih foto lagi.", "Please choose the photos again."),
    # 4. The gallery link
    "done_title": ("Foto Anda sudah siap!", "Your photos are ready!"),
    "gallery_qr_alt": ("Kode QR link galeri Anda", "QR code of your gallery link"),
    "scan_gallery": ("Pindai untuk membuka galeri di ponsel Anda.", "Scan to open your gallery on your phone."),
    "open_gallery": ("Buka galeri", "Open the gallery"),
    "emailed": ("Link galeri juga sudah dikirim ke {email}.", "We also emailed the link to {email}."),
    "email_later": (
        "Email ke {email} belum terkirim: akan dicoba lagi secara otomatis.",
        "The email to {email} could not be sent yet: it will be retried.",
    ),
    "next_customer": ("Pelanggan berikutnya", "Next customer"),
    # The sale ended unpaid (or was refunded)
    "not_completed": ("Pembayaran tidak selesai", "Payment not completed"),
    "start_again": ("Mulai lagi", "Start again"),
    "expired": ("Kode QR kedaluwarsa", "QR code expired"),
    "expired_text": (
        "Waktu {minutes} menit untuk membayar sudah habis dan tidak ada biaya yang ditagih. "
        "Mulai lagi untuk mendapatkan kode QR baru.",
        "The {minutes} minutes to pay are over and nothing was charged. Start again to get a new QR code.",
    ),
    "failed": ("Pembayaran gagal", "Payment failed"),
    "failed_text": (
        "Pembayaran tidak dapat diselesaikan dan tidak ada biaya yang ditagih. Silakan mulai lagi.",
        "The payment could not be completed and nothing was charged. Please start again.",
    ),
    "refunded": ("Pembayaran dikembalikan", "Payment refunded"),
    "refunded_text": (
        "Dana pembayaran ini sudah dikembalikan. Mulai lagi untuk sesi baru.",
        "This payment was given back. Start again for a new session.",
    ),
    "cancelled": ("Dibatalkan", "Cancelled"),
    "cancelled_text": (
        "Transaksi ini sudah dibatalkan dan tidak ada biaya yang ditagih. Mulai lagi untuk mendapatkan kode QR baru.",
        "This sale was cancelled and nothing was charged. Start again to get a new QR code.",
    ),
    "encrypted": ("Status pembayaran tidak dapat dibaca", "Cannot read the payment status"),
    "encrypted_text": (
        "Server mengenkripsi jawaban status (ENCRYPTION_ENABLED=true), yang tidak dapat dibuka oleh halaman demo ini.",
        "The server encrypts poll answers (ENCRYPTION_ENABLED=true), which this demo page cannot decrypt.",
    ),
    # The API's refusals, in the customer's words (the script picks one by the answer's message
    # and details; anything else gets error_http with the server's own words).
    "error_network": (
        "Tidak dapat terhubung ke server. Periksa koneksi, lalu coba lagi.",
        "Cannot reach the server. Check the connection and try again.",
    ),
    "error_http": (
        "Terjadi kesalahan (HTTP {status}: {detail}). Silakan coba lagi atau hubungi petugas.",
        "Something went wrong (HTTP {status}: {detail}). Please try again or ask the staff.",
    ),
    "error_server": (
        "Terjadi gangguan pada server. Silakan coba lagi sebentar lagi.",
        "The server has a problem. Please try again in a moment.",
    ),
    "error_busy": (
        "Terlalu banyak permintaan. Tunggu sebentar, lalu coba lagi.",
        "Too many requests. Wait a moment, then try again.",
    ),
    "error_gateway": (
        "Layanan pembayaran QRIS sedang tidak tersedia. Silakan coba lagi sebentar lagi.",
        "The QRIS payment service is unavailable. Please try again in a moment.",
    ),
    "error_sold_out": (
        "Paket ini sudah habis. Silakan pilih paket lain.",
        "This package is sold out. Please pick another one.",
    ),
    "error_not_offered": (
        "Paket ini tidak dijual di kiosk ini. Silakan pilih paket lain.",
        "This package is not sold at this kiosk. Please pick another one.",
    ),
    "error_package_gone": (
        "Paket ini sudah tidak tersedia. Muat ulang halaman untuk melihat paket terbaru.",
        "This package is no longer available. Reload the page to see the current packages.",
    ),
    "error_kiosk_off": (
        "Kiosk ini sedang tidak aktif. Silakan hubungi petugas.",
        "This kiosk is not active. Please ask the staff.",
    ),
    "error_kiosk_key": (
        "Kiosk ini belum diizinkan menerima transaksi (kunci kiosk). Silakan hubungi petugas.",
        "This kiosk may not take sales (kiosk key). Please ask the staff.",
    ),
    "error_email": ("Alamat email tidak valid.", "The email address is not valid."),
    "error_voucher_not_found": ("Kode voucher tidak dikenal.", "This voucher code is not known."),
    "error_voucher_expired": ("Voucher ini sudah tidak berlaku.", "This voucher is no longer valid."),
    "error_voucher_package": (
        "Voucher ini tidak berlaku untuk paket ini.",
        "This voucher is not valid for this package.",
    ),
    "error_voucher_location": (
        "Voucher ini tidak berlaku di kiosk ini.",
        "This voucher is not valid at this kiosk.",
    ),
    "error_voucher_used": ("Voucher ini sudah dipakai.", "This voucher has already been used."),
    "error_not_found": ("Transaksi tidak ditemukan.", "Sale not found."),
    "error_not_paid": ("Pembayaran belum selesai.", "The payment is not completed yet."),
    "error_refunded": (
        "Pembayaran ini sudah dikembalikan, jadi foto tidak dapat diunggah.",
        "This payment was given back, so photos cannot be uploaded.",
    ),
    "error_already_uploaded": (
        "Foto untuk transaksi ini sudah diunggah.",
        "The photos of this sale were already uploaded.",
    ),
    "error_photo_format": ("File '{name}' bukan foto JPEG atau PNG.", "File '{name}' is not a JPEG or PNG photo."),
    "error_photo_damaged": (
        "File '{name}' rusak dan tidak dapat dibaca sebagai gambar.",
        "File '{name}' is damaged and cannot be read as an image.",
    ),
    "error_photo_extra_data": (
        "File '{name}' berisi data tambahan di luar gambar, jadi tidak diterima.",
        "File '{name}' has data after the end of the image, so it is refused.",
    ),
    "error_photo_size": (
        "File '{name}' terlalu besar (maksimal {max} MB).",
        "File '{name}' is too large (at most {max} MB).",
    ),
    "error_photo_pixels": ("Resolusi foto '{name}' terlalu besar.", "Photo '{name}' has too many pixels."),
    "error_too_many_photos": (
        "Terlalu banyak foto: maksimal {max} foto per sesi.",
        "Too many photos: at most {max} per session.",
    ),
    "error_upload_too_big": (
        "Foto-foto ini terlalu besar untuk diunggah sekaligus. Pilih lebih sedikit foto.",
        "These photos are too big to upload at once. Choose fewer photos.",
    ),
    "error_storage": (
        "Foto gagal disimpan. Silakan unggah lagi.",
        "The photos could not be stored. Please upload them again.",
    ),
}


def texts(language: str) -> dict[str, str]:
    column = LANGUAGES.index(language)
    return {key: pair[column] for key, pair in TEXT.items()}


def page_language(request: HttpRequest) -> str:
    """?lang=en or ?lang=id; otherwise the customers' language (LANGUAGE_CODE, Indonesian)."""
    asked = request.GET.get("lang", "")
    return asked if asked in LANGUAGES else default_language()


def default_language() -> str:
    return settings.LANGUAGE_CODE if settings.LANGUAGE_CODE in LANGUAGES else LANGUAGES[0]


def _demo_only(response: HttpResponse) -> HttpResponse:
    response["X-Robots-Tag"] = "noindex"
    response["Cache-Control"] = "no-store"
    return response


@require_safe
def kiosk_page(request: HttpRequest) -> HttpResponse:
    if not kiosk_enabled():
        raise Http404("The demo kiosk is off: set DEBUG=true or DEMO_KIOSK=true.")
    language = page_language(request)
    context = {
        "language": language,
        "default_language": default_language(),
        "other_language": LANGUAGES[1 - LANGUAGES.index(language)],
        "t": texts(language),
        "text": {code: texts(code) for code in LANGUAGES},
        "locations": Location.objects.filter(is_active=True),
        # Which packages each kiosk sells is the script's question to the API; here only whether
        # there is anything to sell at all.
        "prices_exist": Price.objects.filter(is_active=True).exists(),
        "simulator": simulator_pay_available(),
        "simulator_on": simulator_on(),
        "photo_max_count": settings.PHOTO_MAX_COUNT,
        "urls": {
            "packages": reverse("kiosk-packages"),
            "create": reverse("sale-create"),
            "status": reverse("sale-status", args=[SALE]),
            "qr": reverse("sale-qr-svg", args=[SALE]),
            "pay": reverse("simulate-payment", args=[SALE]),
            "photos": reverse("sale-photos", args=[SALE]),
            "cancel": reverse("sale-cancel", kwargs={"external_id": SALE}),
            "gallery_qr": reverse("kiosk-gallery-qr"),
        },
    }
    response = render(request, "kiosk/kiosk.html", context)
    response["Content-Security-Policy"] = PAGE_CSP
    return _demo_only(response)


@require_safe
def gallery_qr(request: HttpRequest) -> HttpResponse:
    """GET /kiosk/gallery-qr.svg?url=…: a gallery link (as the upload answered it) as a QR code.

    Only links to this service's galleries: the page cannot be used to draw QR codes of anything.
    """
    if not kiosk_enabled():
        raise Http404("The demo kiosk is off.")
    url = request.GET.get("url", "")
    prefix = f"{settings.API_BASE_URL}/gallery/"
    if not (url.startswith(prefix) and _GALLERY_PATH.fullmatch(url.removeprefix(prefix))):
        return HttpResponseBadRequest("Not a gallery link of this service.", content_type="text/plain")
    response = HttpResponse(qr_image(url, "svg", scale=6), content_type="image/svg+xml")
    response["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    return _demo_only(response)
