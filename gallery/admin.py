from django.contrib import admin, messages
from django.db.models import Q
from django.urls import reverse
from django.utils.html import format_html

from gallery import selectors, services
from gallery.models import EmailOutbox, EmailStatus, Photo
from gallery.storage import get_photo_storage
from payments.models import Sale
from photobox.admin_tools import EstimatedCountPaginator, ReadOnlyAdminMixin

# A resend talks to the mail server once per email: keep a click to a bounded amount of waiting.
RESEND_LIMIT = 20


class PhotoInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Photo
    verbose_name_plural = "photos (click one to open it full size)"
    fields = ["position", "thumbnail", "original_name", "dimensions", "bytes", "stored_at"]
    readonly_fields = fields
    extra = 0
    # Above the photos: "upload interrupted", and how to send the email with the stored ones.
    template = "admin/gallery/photo/tabular.html"

    def get_formset(self, request, obj=None, **kwargs):
        # A fresh inline per request (ModelAdmin.get_inline_instances): the template reads these.
        self.upload_state = selectors.upload_state(obj) if obj is not None else None
        self.resend_url = None
        if obj is not None and request.user.has_perm("payments.resend_customer_email"):
            self.resend_url = reverse("admin:payments_sale_resend-email", args=[obj.pk])
        return super().get_formset(request, obj, **kwargs)

    @admin.display(description="photo")
    def thumbnail(self, photo: Photo):
        if not photo.url:
            if selectors.is_abandoned(photo):
                return "⚠ upload interrupted: not stored"
            return "not stored yet"
        storage = get_photo_storage()
        return format_html(
            '<a href="{}" target="_blank" rel="noopener"><img src="{}" alt="photo {}" style="height:80px"></a>',
            photo.url,
            storage.thumbnail_url(photo.url),
            photo.position,
        )

    @admin.display(description="size (px)")
    def dimensions(self, photo: Photo) -> str:
        return f"{photo.width} × {photo.height}"


class EmailOutboxInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = EmailOutbox
    verbose_name_plural = "photo email (each attempt to send it)"
    fields = ["kind", "status", "attempts", "next_attempt_at", "sent_at", "last_error"]
    readonly_fields = fields
    extra = 0


@admin.register(EmailOutbox)
class EmailOutboxAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["sale_link", "customer", "status_display", "attempts", "short_error", "next_attempt_at", "sent_at"]
    list_select_related = ["sale"]
    list_filter = ["status", "kind"]
    search_fields = ["sale__external_id"]  # the search itself is get_search_results
    search_help_text = "A sale number (TRX-…) or the customer's email address."
    readonly_fields = ["sale", "kind", "status", "attempts", "next_attempt_at", "sent_at", "last_error", "created_at"]
    fields = readonly_fields
    list_per_page = 50
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    actions = ["resend"]
    change_list_template = "admin/photobox/change_list.html"

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        # Indexed equalities on the sales (number, UPPER(email)), then the emails of those sales.
        sales = Sale.objects.filter(Q(external_id__in=sorted({term, term.upper()})) | Q(email__iexact=term))
        return queryset.filter(sale_id__in=sales.values("pk")), False

    def has_resend_customer_email_permission(self, request) -> bool:
        return request.user.has_perm("payments.resend_customer_email")

    @admin.display(description="sale", ordering="sale__external_id")
    def sale_link(self, outbox: EmailOutbox):
        url = reverse("admin:payments_sale_change", args=[outbox.sale_id])
        return format_html('<a href="{}">{}</a>', url, outbox.sale.external_id)

    @admin.display(description="to")
    def customer(self, outbox: EmailOutbox) -> str:
        return outbox.sale.email

    @admin.display(description="status", ordering="status")
    def status_display(self, outbox: EmailOutbox) -> str:
        label = outbox.get_status_display()
        return f"⚠ {label}" if outbox.status == EmailStatus.FAILED else label

    @admin.display(description="last error")
    def short_error(self, outbox: EmailOutbox) -> str:
        return outbox.last_error[:80] + ("…" if len(outbox.last_error) > 80 else "")

    @admin.action(description="Resend the photo email", permissions=["resend_customer_email"])
    def resend(self, request, queryset):
        rows = list(queryset.select_related("sale")[: RESEND_LIMIT + 1])
        if len(rows) > RESEND_LIMIT:
            self.message_user(request, f"Only the first {RESEND_LIMIT} were resent: select fewer.", messages.WARNING)
        for outbox in rows[:RESEND_LIMIT]:
            sale = outbox.sale
            try:
                result = services.resend_customer_email(sale=sale)
            except services.EmailCannotBeResent as exc:
                self.message_user(request, str(exc), messages.ERROR)
                continue
            self.log_change(request, outbox, f"Resent to {sale.email}.")
            if result.status == EmailStatus.SENT:
                self.message_user(request, f"{sale.external_id}: sent to {sale.email}.", messages.SUCCESS)
            else:
                self.message_user(
                    request,
                    f"{sale.external_id}: the mail server did not take it ({result.last_error}); "
                    f"{'it will be retried' if result.status == EmailStatus.PENDING else 'gave up'}.",
                    messages.WARNING,
                )

    def changelist_view(self, request, extra_context=None):
        empty = "No emails yet. An email is queued here once a paid sale's photos are all uploaded."
        return super().changelist_view(request, {"empty_message": empty, **(extra_context or {})})
