from django.contrib import admin, messages

from console import access_keys
from console.models import AccessKey


@admin.register(AccessKey)
class AccessKeyAdmin(admin.ModelAdmin):
    """Access keys, secret never shown; create them with `manage.py createaccesskey`."""

    list_display = ["access_key_id", "name", "user", "is_active", "last_used_at", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["access_key_id", "name"]
    fields = ["access_key_id", "name", "user", "is_active", "created_at", "last_used_at"]
    readonly_fields = ["access_key_id", "user", "is_active", "created_at", "last_used_at"]
    actions = ["disable_keys", "enable_keys"]

    def has_add_permission(self, request):
        # A key is useless without its secret, which only createaccesskey shows (once).
        return False

    def save_model(self, request, obj, form, change):
        access_keys.rename_access_key(obj, obj.name)

    def delete_model(self, request, obj):
        access_keys.delete_access_key(obj)

    def delete_queryset(self, request, queryset):
        for key in queryset:
            access_keys.delete_access_key(key)

    @admin.action(description="Disable selected access keys")
    def disable_keys(self, request, queryset):
        for key in queryset:
            access_keys.disable_access_key(key)
        self.message_user(request, "Access keys disabled.", messages.SUCCESS)

    @admin.action(description="Enable selected access keys")
    def enable_keys(self, request, queryset):
        for key in queryset:
            access_keys.enable_access_key(key)
        self.message_user(request, "Access keys enabled.", messages.SUCCESS)
