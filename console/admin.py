from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin

from console import access_keys
from console.models import AccessKey, UserScope


@admin.register(AccessKey)
class AccessKeyAdmin(admin.ModelAdmin):
    """Access keys, secret never shown; create them with `manage.py createaccesskey`."""

    list_display = ["access_key_id", "name", "user", "is_active", "last_used_at", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["access_key_id", "name"]
    fields = ["access_key_id", "name", "user", "is_active", "created_at", "last_used_at", "policy"]
    # The policy is edited on the console's key page, which validates it as IAM does.
    readonly_fields = ["access_key_id", "user", "is_active", "created_at", "last_used_at", "policy"]
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


class UserScopeInline(admin.StackedInline):
    """A user's console scope: the queues and topics they see and change, by name pattern."""

    model = UserScope
    can_delete = True
    verbose_name = "console scope"
    verbose_name_plural = "console scope"
    fields = ["queue_patterns", "topic_patterns"]
    extra = 1  # an empty form to fill; left blank, the user stays unscoped
    max_num = 1

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if db_field.name in ("queue_patterns", "topic_patterns"):
            kind = "queue" if db_field.name == "queue_patterns" else "topic"
            field.widget.attrs["rows"] = 4
            field.help_text = (
                f"One {kind} name pattern a line, with * and ? as wildcards, e.g. orders-*. "
                f"Empty: no {kind}s. Without a scope (and as a superuser) a user sees everything."
            )
        return field


User = get_user_model()
# django.contrib.auth (listed before this app) registered its User admin; add the scope to it.
if admin.site.is_registered(User):
    admin.site.unregister(User)


@admin.register(User)
class ScopedUserAdmin(UserAdmin):
    """The User admin, with the console scope inline."""

    inlines = [*UserAdmin.inlines, UserScopeInline]
