from django.contrib import admin

from immunoport.studies.models import Program


@admin.register(Program)
class ProgramAdmin(admin.ModelAdmin):
    """Staff manage programs, the NIH funding programs that grants belong to.

    Programs are repository-wide: any workspace's contracts and grants may name any
    program. ImmPort's program table still carries ``workspace_id`` (the workspace that
    registered the program), so staff choose that workspace in the form: usually the
    workspace whose provider asked for the program. Nothing filters programs by it.
    """

    list_display = ["name", "short_name", "category", "start_date", "end_date", "workspace"]
    list_filter = ["category"]
    search_fields = ["name", "short_name", "category", "description"]
    list_select_related = ["workspace"]
    ordering = ["name"]
    fields = [
        "name",
        "short_name",
        "category",
        "description",
        "link",
        "start_date",
        "end_date",
        "workspace",
    ]
