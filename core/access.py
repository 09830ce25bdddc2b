"""The one way views fetch projects and items for a user: outsiders get 404, too-low roles get 403."""
import json

from django.core.exceptions import PermissionDenied
from django.db import connection
from django.http import Http404

from core.models import Item, Label, Membership, Project, Role
from core.selectors import project_labels


def get_membership(user, project_id) -> Membership | None:
    if not user.is_authenticated:
        return None
    return Membership.objects.select_related("project").filter(project_id=project_id, user=user).first()


def get_project_for_user(user, project_id, role: str = Role.ANNOTATOR) -> tuple[Project, Membership]:
    """Return (project, membership); 404 if the user is not a member, 403 if the role is too low."""
    membership = get_membership(user, project_id)
    if membership is None:
        raise Http404("No such project")
    _check_role(membership, role)
    return membership.project, membership


def _check_role(membership: Membership, role: str) -> None:
    if not membership.allows(role):
        raise PermissionDenied(f"This needs the {role} role in {membership.project.name}.")


# Every request of the labeling screen needs the member's role, the project and its labels. One statement
# written out here reads all three (one round trip, no ORM query to build) instead of two; nothing is
# cached, so a removed member or a changed label counts from the very next request. The labels come as one
# JSON array of [id, name, key, order] rows, built by each database's own JSON functions.
MEMBER_PROJECT_LABELS_SQL = """
SELECT p.*, m.id AS member_id, m.role AS member_role,
  (SELECT {labels} FROM labeling_label l WHERE l.project_id = p.id) AS label_rows
FROM labeling_membership m JOIN labeling_project p ON p.id = m.project_id
WHERE m.project_id = %s AND m.user_id = %s
"""
LABEL_ROWS = {
    "postgresql": '''json_agg(json_build_array(l.id, l.name, l.key, l."order"))''',
    "sqlite": '''json_group_array(json_array(l.id, l.name, l.key, l."order"))''',
}
LABEL_FIELDS = ["id", "project_id", "name", "key", "order"]  # Label's field order, as from_db takes them


def get_project_and_labels_for_user(user, project_id, role: str = Role.ANNOTATOR) -> tuple[Project, Membership]:
    """get_project_for_user, with the project's labels loaded as well (core.selectors.project_labels reads
    them without a query): the same 404 for outsiders and 403 for too-low roles."""
    if connection.vendor not in LABEL_ROWS:
        project, membership = get_project_for_user(user, project_id, role)
        project_labels(project)
        return project, membership
    project = None
    if user.is_authenticated:
        sql = MEMBER_PROJECT_LABELS_SQL.format(labels=LABEL_ROWS[connection.vendor])
        project = next(iter(raw_instances(Project, sql, [project_id, user.pk])), None)
    if project is None:
        raise Http404("No such project")
    membership = Membership(pk=project.member_id, project=project, user=user, role=project.member_role)
    membership._state.adding = False
    _check_role(membership, role)
    rows = project.label_rows or []
    if isinstance(rows, str):  # SQLite hands back the JSON text
        rows = json.loads(rows)
    labels = [Label.from_db(connection.alias, LABEL_FIELDS, (pk, project.pk, name, key, order))
              for pk, name, key, order in sorted(rows, key=lambda row: row[3])]  # in key order, as Label.Meta
    # As prefetch_related_objects(project, "labels") leaves them: project.labels.all() reads no more rows.
    cached = project.labels.all()
    cached._result_cache, cached._prefetch_done = labels, True
    project._prefetched_objects_cache = {Project.labels.rel.cache_name: cached}
    return project, membership


# (alias, model, column names) -> how a row of that shape loads an instance, worked out once: RawQuerySet
# works it out again on every query (~0.2 ms on each of the labeling screen's three written-out reads).
_ROW_PLANS: dict[tuple, tuple] = {}


def raw_instances(model, sql: str, params) -> list:
    """``list(model.objects.raw(sql, params))``: the statement's columns named like the model's fields load
    them (through the same converters), the other columns become attributes of the instance."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = tuple(column[0] for column in cursor.description)
        rows = cursor.fetchall()
    key = (connection.alias, model, names)
    plan = _ROW_PLANS.get(key)
    if plan is None:
        plan = _ROW_PLANS[key] = _row_plan(model, names)
    init_names, init_positions, extras, converters = plan
    instances = []
    for row in rows:
        if converters:
            row = list(row)
            for position, (functions, expression) in converters.items():
                for function in functions:
                    row[position] = function(row[position], expression, connection)
        instance = model.from_db(connection.alias, init_names, [row[n] for n in init_positions])
        for name, position in extras:
            setattr(instance, name, row[position])
        instances.append(instance)
    return instances


def _row_plan(model, names: tuple[str, ...]) -> tuple:
    from django.db.models.sql import Query

    fields = {f.column: f for f in model._meta.concrete_fields}
    if model._meta.pk.column not in names:
        raise ValueError("Raw query must include the primary key")
    init = [(f.attname, names.index(f.column)) for f in model._meta.concrete_fields if f.column in names]
    extras = [(name, position) for position, name in enumerate(names) if name not in fields]
    compiler = connection.ops.compiler("SQLCompiler")(Query(model), connection, connection.alias)
    columns = [fields[name].get_col(model._meta.db_table) if name in fields else None for name in names]
    return [n for n, _ in init], [p for _, p in init], extras, compiler.get_converters(columns)


def get_item_for_user(user, item_id, role: str = Role.ANNOTATOR) -> tuple[Item, Membership]:
    item = Item.objects.select_related("project").filter(pk=item_id).first()
    if item is None:
        raise Http404("No such item")
    _, membership = get_project_for_user(user, item.project_id, role)
    return item, membership


def projects_for_user(user):
    return Project.objects.filter(memberships__user=user).order_by("-created_at")
