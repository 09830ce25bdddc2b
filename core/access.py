"""The one way views fetch projects and items for a user: outsiders get 404, too-low roles get 403."""
import json

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model, load_backend
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.db.models import Manager
from django.http import Http404
from django.utils.crypto import constant_time_compare

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
  (SELECT {labels} FROM labeling_label l WHERE l.project_id = p.id) AS label_rows{more}
FROM labeling_membership m JOIN labeling_project p ON p.id = m.project_id{join}
WHERE m.project_id = %(project)s AND m.user_id = %(user)s
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
        sql = MEMBER_PROJECT_LABELS_SQL.format(labels=LABEL_ROWS[connection.vendor], more="", join="")
        project = next(iter(raw_instances(Project, sql, {"project": project_id, "user": user.pk})), None)
    if project is None:
        raise Http404("No such project")
    return project, _member_of(project, user, role)


# The hot labeling views read the signed-in user in the same statement as the membership, instead of
# django.contrib.auth's get_user reading them on their own first (a round trip and an ORM query, ~20% of a
# next item). Nothing is kept between requests: a removed member, a deactivated user or a changed password
# counts from the very next request.
USER_PREFIX = "user__"


def get_project_and_labels_for_request(request, project_id, role: str = Role.ANNOTATOR, *,
                                       columns: dict[str, str] | None = None,
                                       params: dict | None = None) -> tuple[Project, Membership, dict] | None:
    """get_project_and_labels_for_user(request.user, ...) with the signed-in user read in the same statement
    and set on the request (request.user, and the auth middleware's cache of it, so nothing reads them again).

    None when this cannot vouch for the user exactly as django.contrib.auth.get_user would, and without any
    of its side effects: no login in the session, a backend other than ModelBackend's user read, a session
    hash that is not the current one (a changed password; an old SECRET_KEY), an inactive user, no
    membership row. The caller then goes the ordinary way (login_required, get_project_and_labels_for_user),
    where Django decides: a login page, a flushed session, a 404.

    ``columns``: more values to read in the statement (name -> SQL expression, which may use the
    %(project)s and %(user)s parameters and ``params``), returned as the third element.
    """
    backend, user_id = _session_login(request)
    if backend is None or connection.vendor not in LABEL_ROWS:
        return None
    user_model = get_user_model()
    qn = connection.ops.quote_name
    more = "".join(f", u.{qn(f.column)} AS {qn(USER_PREFIX + f.column)}" for f in user_model._meta.concrete_fields)
    more += "".join(f", {sql} AS {qn(name)}" for name, sql in (columns or {}).items())
    sql = MEMBER_PROJECT_LABELS_SQL.format(labels=LABEL_ROWS[connection.vendor], more=more,
                                           join=f" JOIN {qn(user_model._meta.db_table)} u"
                                                f" ON u.{qn(user_model._meta.pk.column)} = m.user_id")
    rows = raw_instances(Project, sql, {**(params or {}), "project": project_id, "user": user_id},
                         related=(("member_user", user_model, USER_PREFIX),))
    if not rows or not _session_verifies(request, backend, rows[0].member_user):
        return None
    project, user = rows[0], rows[0].member_user
    request.user = request._cached_user = user  # _cached_user: what AuthenticationMiddleware's lazy user returns
    return project, _member_of(project, user, role), {name: getattr(project, name) for name in columns or {}}


_ROW_BACKENDS: dict[str, ModelBackend | None] = {}


def _session_login(request) -> tuple[ModelBackend | None, object]:
    """The session's login as django.contrib.auth.get_user reads it: (backend, user id), or (None, None) when
    there is none or its backend reads the user some other way than ModelBackend.get_user (a plain primary
    key lookup through the default manager, then user_can_authenticate)."""
    if hasattr(request, "_cached_user"):  # someone read request.user already: use that
        return None, None
    try:
        user_id = get_user_model()._meta.pk.to_python(request.session[SESSION_KEY])
        backend_path = request.session[BACKEND_SESSION_KEY]
    except KeyError:
        return None, None
    if backend_path not in settings.AUTHENTICATION_BACKENDS:
        return None, None
    if backend_path not in _ROW_BACKENDS:
        backend = load_backend(backend_path)
        manager = type(get_user_model()._default_manager)
        plain = (type(backend).get_user is ModelBackend.get_user
                 and manager.get_queryset is Manager.get_queryset)
        _ROW_BACKENDS[backend_path] = backend if plain else None
    return _ROW_BACKENDS[backend_path], user_id


def _session_verifies(request, backend: ModelBackend, user) -> bool:
    """True when django.contrib.auth.get_user would return ``user`` for this session, changing nothing: the
    backend lets them in and the session's hash is the user's current one (a fallback secret's hash makes
    Django cycle the session key, so that case is left to it)."""
    if not backend.user_can_authenticate(user) or not hasattr(user, "get_session_auth_hash"):
        return False
    session_hash = request.session.get(HASH_SESSION_KEY)
    return bool(session_hash) and constant_time_compare(session_hash, user.get_session_auth_hash())


def _member_of(project: Project, user, role: str) -> Membership:
    """The membership read with ``project`` (403 if its role is too low), and the project's labels loaded."""
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
    return membership


# (alias, model, column names, related) -> how a row of that shape loads its instances, worked out once:
# RawQuerySet works it out again on every query (~0.2 ms on each of the labeling screen's written-out reads).
_ROW_PLANS: dict[tuple, tuple] = {}


def raw_instances(model, sql: str, params, *, related: tuple[tuple[str, type, str], ...] = ()) -> list:
    """``list(model.objects.raw(sql, params))``: the statement's columns named like the model's fields load
    them (through the same converters), the other columns become attributes of the instance.

    ``related``: (attribute, model, prefix) triples: the columns named prefix + a column of that model load
    an instance of it (through its converters too), set as that attribute of each instance.
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = _column_names(cursor)
        rows = cursor.fetchall()
    key = (connection.alias, model, names, related)
    plan = _ROW_PLANS.get(key)
    if plan is None:
        plan = _ROW_PLANS[key] = _row_plan(model, names, related)
    loads, extras, converters = plan
    instances = []
    for row in rows:
        if converters:
            row = list(row)
            for position, (functions, expression) in converters.items():
                for function in functions:
                    row[position] = function(row[position], expression, connection)
        (_, _, init_names, init_positions), *others = loads
        instance = model.from_db(connection.alias, init_names, [row[n] for n in init_positions])
        for attribute, other, init_names, init_positions in others:
            setattr(instance, attribute, other.from_db(connection.alias, init_names, [row[n] for n in init_positions]))
        for name, position in extras:
            setattr(instance, name, row[position])
        instances.append(instance)
    return instances


def _column_names(cursor) -> tuple[str, ...]:
    """The result's column names. psycopg's cursor.description builds a Column object, type info and all, for
    each column (~0.15 ms for the labeling screen's 45): its result hands out the bare names."""
    result = getattr(cursor.cursor, "pgresult", None)
    if result is not None:
        return tuple(result.fname(n).decode() for n in range(result.nfields))
    return tuple(column[0] for column in cursor.description)


def _row_plan(model, names: tuple[str, ...], related: tuple = ()) -> tuple:
    from django.db.models.sql import Query

    columns: list = [None] * len(names)  # the field expression each column loads, for its converters
    loads = []
    for attribute, loaded, prefix in ((None, model, ""), *related):
        fields = {prefix + f.column: f for f in loaded._meta.concrete_fields}
        if prefix + loaded._meta.pk.column not in names:
            raise ValueError("Raw query must include the primary key")
        init = [(f.attname, names.index(name)) for name, f in fields.items() if name in names]
        for name, position in ((name, names.index(name)) for name in fields if name in names):
            columns[position] = fields[name].get_col(loaded._meta.db_table)
        loads.append((attribute, loaded, [n for n, _ in init], [p for _, p in init]))
    extras = [(name, position) for position, name in enumerate(names) if columns[position] is None]
    compiler = connection.ops.compiler("SQLCompiler")(Query(model), connection, connection.alias)
    return loads, extras, compiler.get_converters(columns)


def get_item_for_user(user, item_id, role: str = Role.ANNOTATOR) -> tuple[Item, Membership]:
    item = Item.objects.select_related("project").filter(pk=item_id).first()
    if item is None:
        raise Http404("No such item")
    _, membership = get_project_for_user(user, item.project_id, role)
    return item, membership


def projects_for_user(user):
    return Project.objects.filter(memberships__user=user).order_by("-created_at")
