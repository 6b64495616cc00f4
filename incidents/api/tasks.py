"""The playbooks and tasks API: playbooks are read by every console user and written by the central lead (asked
nationally: they apply country-wide); an incident's tasks are read in its scope and changed by whoever may work
or plan each one (incidents.models.task_actions). Same pattern as incidents.api.views."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import generics, serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from incidents.api.views import IncidentScoped, _valid
from incidents.models import (
    Category,
    Owner,
    Playbook,
    PlaybookVersion,
    RequestForAction,
    RequestStatus,
    task_actions,
    task_plan_action,
    task_work_action,
)
from incidents.selectors import playbook_get, playbook_list, playbook_version_get, task_get, task_list, task_progress
from incidents.services.playbooks import MAX_DUE_MINUTES, MAX_STEPS, playbook_apply, playbook_save
from incidents.services.tasks import task_update
from organisations.access import Action, Permissions
from organisations.actors import Actor


class StepSerializer(serializers.Serializer[dict[str, Any]]):
    key = serializers.RegexField(r"^[a-z0-9][a-z0-9-]{0,63}$", required=False, allow_blank=True,
                                 help_text="Kept across versions; made from the title when left out")
    title = serializers.CharField(max_length=300)
    owner = serializers.ChoiceField(choices=Owner.choices, help_text="central: the central SOC; province: the "
                                                                     "incident's province (a request for action)")
    due_minutes = serializers.IntegerField(min_value=1, max_value=MAX_DUE_MINUTES)
    evidence = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    instructions = serializers.CharField(max_length=20000, required=False, allow_blank=True, default="")


class PlaybookVersionSerializer(serializers.ModelSerializer[PlaybookVersion]):
    author: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(slug_field="username", read_only=True)
    version = serializers.IntegerField(source="number", read_only=True)
    steps = StepSerializer(many=True, read_only=True)

    class Meta:
        model = PlaybookVersion
        fields = ["version", "name", "description", "source", "steps", "author", "created_at"]
        read_only_fields = fields


class PlaybookSerializer(serializers.ModelSerializer[Playbook]):
    current = serializers.SerializerMethodField()
    rules: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        many=True, read_only=True, slug_field="name", help_text="Detection rules whose incidents get this playbook")

    class Meta:
        model = Playbook
        fields = ["slug", "name", "category", "default_for_category", "version", "rules", "current", "created_at",
                  "updated_at"]
        read_only_fields = fields

    @extend_schema_field(PlaybookVersionSerializer)
    def get_current(self, playbook: Playbook) -> dict[str, Any]:
        return dict(PlaybookVersionSerializer(playbook.current()).data)


class PlaybookInputSerializer(serializers.Serializer[dict[str, Any]]):
    """A new playbook (``slug`` required) or a new version of one (every field optional: the rest is kept)."""

    slug = serializers.SlugField(max_length=64, required=False)
    name = serializers.CharField(max_length=200, required=False)
    category = serializers.ChoiceField(choices=Category.choices, required=False)
    default_for_category = serializers.BooleanField(required=False)
    description = serializers.CharField(max_length=20000, required=False, allow_blank=True)
    source = serializers.CharField(max_length=5000, required=False, allow_blank=True)  # type: ignore[assignment]
    steps = StepSerializer(many=True, required=False, max_length=MAX_STEPS)  # type: ignore[call-arg]


def _require_manager(request: Request) -> None:
    if not Permissions(request.user).can_nationally(Action.PLAYBOOKS_MANAGE):
        raise PermissionDenied("Only the central lead writes playbooks.")


class PlaybookListApi(generics.ListAPIView[Playbook]):
    serializer_class = PlaybookSerializer

    def get_queryset(self) -> Any:
        Permissions(self.request.user).require(Action.VIEW)
        return playbook_list().prefetch_related("rules")

    @extend_schema(request=PlaybookInputSerializer, responses={201: PlaybookSerializer})
    def post(self, request: Request) -> Response:
        """Write a new playbook (central lead); it is version 1."""
        _require_manager(request)
        data = _valid(PlaybookInputSerializer, request)
        slug = data.pop("slug", "")
        playbook = playbook_save(playbook=None, slug=slug, actor=Actor.from_request(request._request), values=data)
        return Response(PlaybookSerializer(playbook).data, status=status.HTTP_201_CREATED)


class PlaybookDetailApi(generics.RetrieveAPIView[Playbook]):
    serializer_class = PlaybookSerializer

    def get_object(self) -> Playbook:
        Permissions(self.request.user).require(Action.VIEW)
        return playbook_get(slug=self.kwargs["slug"])

    @extend_schema(request=PlaybookInputSerializer, responses=PlaybookSerializer)
    def patch(self, request: Request, slug: str) -> Response:
        """Save a new version (central lead): the fields sent replace those in force, the others are kept."""
        _require_manager(request)
        playbook = self.get_object()
        data = _valid(PlaybookInputSerializer, request)
        data.pop("slug", None)  # permanent
        playbook = playbook_save(playbook=playbook, actor=Actor.from_request(request._request), values=data)
        return Response(PlaybookSerializer(playbook).data)


class PlaybookVersionListApi(generics.ListAPIView[PlaybookVersion]):
    serializer_class = PlaybookVersionSerializer

    def get_queryset(self) -> Any:
        Permissions(self.request.user).require(Action.VIEW)
        return playbook_get(slug=self.kwargs["slug"]).versions.select_related("author")


class PlaybookVersionDetailApi(generics.RetrieveAPIView[PlaybookVersion]):
    serializer_class = PlaybookVersionSerializer

    def get_object(self) -> PlaybookVersion:
        Permissions(self.request.user).require(Action.VIEW)
        return playbook_version_get(playbook=playbook_get(slug=self.kwargs["slug"]), number=self.kwargs["version"])


class TaskSerializer(serializers.ModelSerializer[RequestForAction]):
    incident = serializers.CharField(source="incident.key", read_only=True)
    province = serializers.CharField(source="province.code", read_only=True)
    assignee = serializers.CharField(source="assignee.username", read_only=True, default=None, allow_null=True)
    playbook = serializers.CharField(source="playbook_version.playbook.slug", read_only=True, default=None,
                                     allow_null=True)
    playbook_version = serializers.IntegerField(source="playbook_version.number", read_only=True, default=None,
                                                allow_null=True)
    evidence = serializers.SerializerMethodField()
    overdue = serializers.BooleanField(read_only=True)

    class Meta:
        model = RequestForAction
        fields = ["id", "incident", "province", "owner", "position", "title", "instructions", "evidence_expected",
                  "priority", "status", "due_at", "overdue", "assignee", "progress_note", "evidence", "playbook",
                  "playbook_version", "step", "created_at", "updated_at", "acknowledged_at", "done_at",
                  "escalated_at"]
        read_only_fields = fields

    @extend_schema_field(serializers.ListField(child=serializers.DictField()))
    def get_evidence(self, task: RequestForAction) -> list[dict[str, Any]]:
        return [{"id": a.pk, "name": a.name, "sha256": a.sha256} for a in task.evidence.all()]


class TaskProgressSerializer(serializers.Serializer[Any]):
    done = serializers.IntegerField()
    total = serializers.IntegerField(help_text="Tasks that apply (not those marked not applicable)")
    overdue = serializers.IntegerField()


class TaskListSerializer(serializers.Serializer[Any]):
    progress = TaskProgressSerializer()
    tasks = TaskSerializer(many=True)


class TaskUpdateSerializer(serializers.Serializer[dict[str, Any]]):
    """Send only what changes. Working a task (status moves, note, assignee, evidence) and planning it (due
    time, marking it not applicable, reinstating it) may need different rights."""

    status = serializers.ChoiceField(choices=RequestStatus.choices, required=False)
    note = serializers.CharField(max_length=20000, required=False, allow_blank=True)
    assignee = serializers.IntegerField(required=False, allow_null=True, help_text="User id, or null")
    due_at = serializers.DateTimeField(required=False)
    evidence = serializers.ListField(child=serializers.IntegerField(), required=False, max_length=500,
                                     help_text="Ids of the incident's attachments: the task's evidence becomes these")


class ApplySerializer(serializers.Serializer[dict[str, Any]]):
    playbook = serializers.SlugField(max_length=64)


class IncidentTaskListApi(APIView, IncidentScoped):
    @extend_schema(responses=TaskListSerializer, operation_id="incidents_tasks_list")
    def get(self, request: Request, key: str) -> Response:
        """The incident's checklist (the centre's tasks and the province's requests for action) and its progress."""
        tasks = task_list(incident=self.incident())
        return Response(TaskListSerializer({"progress": task_progress(tasks), "tasks": tasks}).data)

    @extend_schema(request=ApplySerializer, responses={201: TaskSerializer(many=True)},
                   operation_id="incidents_tasks_apply_playbook")
    def post(self, request: Request, key: str) -> Response:
        """Apply a playbook by hand: its steps become tasks; unstarted tasks of another playbook become not
        applicable (incidents.services.playbooks). 200 and no tasks when the incident already has them."""
        incident = self.incident(Action.EDIT)
        data = _valid(ApplySerializer, request)
        tasks = playbook_apply(incident=incident, playbook=playbook_get(slug=data["playbook"]), actor=self.actor(),
                               reason="manual")
        return Response(TaskSerializer(tasks, many=True).data,
                        status=status.HTTP_201_CREATED if tasks else status.HTTP_200_OK)


class IncidentTaskDetailApi(APIView, IncidentScoped):
    def task(self) -> RequestForAction:
        return task_get(incident=self.incident(), task_id=self.kwargs["task_id"])

    @extend_schema(responses=TaskSerializer)
    def get(self, request: Request, key: str, task_id: int) -> Response:
        return Response(TaskSerializer(self.task()).data)

    @extend_schema(request=TaskUpdateSerializer, responses=TaskSerializer)
    def patch(self, request: Request, key: str, task_id: int) -> Response:
        task = self.task()
        incident = task.incident
        permissions = Permissions(request.user)
        permissions.require_any((task_work_action(task.owner), task_plan_action(task.owner)), incident.province,
                                incident.owner)
        changes = _valid(TaskUpdateSerializer, request)
        for action in task_actions(owner=task.owner, current=task.status, changes=changes):
            permissions.require(action, incident.province, incident.owner)
        task = task_update(task=task, actor=self.actor(), changes=changes)
        return Response(TaskSerializer(task_get(incident=incident, task_id=task.pk)).data)
