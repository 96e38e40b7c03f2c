from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest

from .models import Classroom, Membership


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    fields = ("student", "attention_rules", "joined_at")
    readonly_fields = ("joined_at",)
    # A select box of every user would load them all; a raw id field scales to a school's worth.
    raw_id_fields = ("student",)


@admin.register(Classroom)
class ClassroomAdmin(admin.ModelAdmin):
    list_display = ("name", "teacher", "join_code", "expressions", "self_signup", "time_zone", "created_at", "member_count")
    list_filter = ("expressions", "self_signup")
    search_fields = ("name", "join_code", "teacher__username")
    list_select_related = ("teacher",)
    raw_id_fields = ("teacher",)
    readonly_fields = ("created_at",)
    inlines = [MembershipInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Classroom]:
        # One query for the whole list instead of a count per row.
        return super().get_queryset(request).annotate(member_count=Count("memberships"))

    @admin.display(description="members", ordering="member_count")
    def member_count(self, classroom: Classroom) -> int:
        return classroom.member_count


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("student", "classroom", "attention_rules", "joined_at")
    list_filter = ("classroom", "attention_rules")
    search_fields = ("student__username", "student__first_name", "student__last_name")
    list_select_related = ("student", "classroom")
    raw_id_fields = ("student", "classroom")
    readonly_fields = ("joined_at",)
