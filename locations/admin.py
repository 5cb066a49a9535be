from django.contrib import admin

from locations.models import Location


@admin.register(Location)
class LocationAdmin(admin.ModelAdmin):
    list_display = ["machine_code", "name", "address", "is_active", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["machine_code", "name", "address"]
    readonly_fields = ["created_at", "updated_at"]
    fields = ["machine_code", "name", "address", "is_active", "created_at", "updated_at"]
