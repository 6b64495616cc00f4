"""Saved event searches: private, shared with the province, or (from the centre) nationally; owner edits; audited."""

from __future__ import annotations

from django.contrib.auth.models import User

from console.models import SavedSearch, Sharing
from organisations.models import AuditLog, Organisation, Role
from organisations.services import user_with_role
from tests.conftest import PASSWORD, Cast, signed_in

NEW = "/console/events/saved/"
EVENTS = "/console/events/"


def save(user: User, name: str, sharing: str = Sharing.PRIVATE, search: str = "q=ssh&range=7d") -> int:
    return signed_in(user).post(NEW, {"name": name, "sharing": sharing, "search": search}).status_code


def names_seen_by(user: object) -> set[str]:
    return {s.name for s in signed_in(user).get(EVENTS).context["saved_searches"]}


def test_a_saved_search_keeps_the_whole_search_and_reopens_it(cast: Cast) -> None:
    search = ("q=event.outcome%3Afailure&range=7d&f=host.name%3Aweb-01&nf=user.name%3Aroot&cols=user.name"
              "&sort=user.name%3Aasc")
    assert save(cast.hni_responder, "failed logins", search=search) == 302
    saved = SavedSearch.objects.get(name="failed logins")
    assert saved.owner == cast.hni_responder and saved.organisation == cast.hni
    opened = signed_in(cast.hni_responder).get(f"/console/events/saved/{saved.pk}/", follow=True)
    context = opened.context["search"]
    assert context.query == "event.outcome:failure" and context.range_key == "7d"
    assert [(f.field, f.value, f.negate) for f in context.filters] == [("host.name", "web-01", False),
                                                                         ("user.name", "root", True)]
    assert context.columns == ["user.name"] and context.sort == ("user.name", "asc")


def test_private_searches_are_their_owners_alone(cast: Cast) -> None:
    save(cast.hni_responder, "mine")
    colleague = user_with_role(username="hni.colleague", password=PASSWORD, organisation=cast.hni,
                               role=Role.PROVINCIAL_RESPONDER)
    assert "mine" in names_seen_by(cast.hni_responder)
    assert "mine" not in names_seen_by(colleague) and "mine" not in names_seen_by(cast.analyst)
    saved = SavedSearch.objects.get(name="mine")
    assert signed_in(colleague).get(f"/console/events/saved/{saved.pk}/").status_code == 404


def test_a_province_share_is_seen_in_that_province_and_by_the_centre_never_in_another(cast: Cast) -> None:
    save(cast.hni_responder, "hni shared", Sharing.PROVINCE)
    colleague = user_with_role(username="hni.colleague", password=PASSWORD, organisation=cast.hni,
                               role=Role.PROVINCIAL_RESPONDER)
    site = Organisation.objects.create(code="HNISITE", name="site", kind="site", parent=cast.hni)
    site_user = user_with_role(username="hni.site", password=PASSWORD, organisation=site,
                               role=Role.PROVINCIAL_RESPONDER)
    for user in (colleague, site_user, cast.analyst, cast.lead):
        assert "hni shared" in names_seen_by(user), user
    assert "hni shared" not in names_seen_by(cast.hcm_responder)
    saved = SavedSearch.objects.get(name="hni shared")
    assert signed_in(cast.hcm_responder).get(f"/console/events/saved/{saved.pk}/").status_code == 404
    assert signed_in(cast.hcm_responder).post(f"/console/events/saved/{saved.pk}/delete").status_code == 404


def test_the_centre_shares_nationally_and_a_province_cannot(cast: Cast) -> None:
    assert save(cast.analyst, "national hunt", Sharing.NATIONAL) == 302
    assert "national hunt" in names_seen_by(cast.hni_responder) and "national hunt" in names_seen_by(cast.hcm_responder)
    assert save(cast.hni_responder, "province goes national", Sharing.NATIONAL) == 403
    assert save(cast.analyst, "centre as a province", Sharing.PROVINCE) == 302  # refused with a message
    assert not SavedSearch.objects.filter(name__in=["province goes national", "centre as a province"]).exists()


def test_only_the_owner_updates_or_deletes_a_shared_search(cast: Cast) -> None:
    save(cast.analyst, "national hunt", Sharing.NATIONAL)
    saved = SavedSearch.objects.get(name="national hunt")
    other = signed_in(cast.hni_responder)
    assert other.post(f"/console/events/saved/{saved.pk}/", {"search": "q=changed"}).status_code == 403
    assert other.post(f"/console/events/saved/{saved.pk}/delete").status_code == 403
    owner = signed_in(cast.analyst)
    assert owner.post(f"/console/events/saved/{saved.pk}/", {"search": "q=changed&range=1h"}).status_code == 302
    saved.refresh_from_db()
    assert saved.query == "q=changed&range=1h"
    assert owner.post(f"/console/events/saved/{saved.pk}/delete").status_code == 302
    assert not SavedSearch.objects.exists()


def test_every_write_is_audited(cast: Cast) -> None:
    save(cast.hni_responder, "audited", Sharing.PROVINCE)
    saved = SavedSearch.objects.get(name="audited")
    client = signed_in(cast.hni_responder)
    client.post(f"/console/events/saved/{saved.pk}/", {"search": "q=x", "name": "renamed"})
    client.post(f"/console/events/saved/{saved.pk}/delete")
    entries = AuditLog.objects.filter(object_type="saved_search", object_ref=str(saved.pk)).order_by("pk")
    assert [e.action for e in entries] == ["saved_search.created", "saved_search.updated", "saved_search.deleted"]
    assert entries[1].before["name"] == "audited" and entries[1].after["name"] == "renamed"
    assert all(e.organisation == cast.hni and e.actor_name == "hni.responder" for e in entries)


def test_bad_input_is_refused_and_nothing_is_saved(cast: Cast) -> None:
    client = signed_in(cast.hni_responder)
    assert client.post(NEW, {"name": "", "search": "q=x"}).status_code == 302
    assert client.post(NEW, {"name": "bad", "search": "q=/regex/"}).status_code == 400
    assert client.post(NEW, {"name": "bad", "sharing": "everyone", "search": "q=x"}).status_code == 302
    save(cast.hni_responder, "twice")
    save(cast.hni_responder, "twice", search="q=other")
    assert SavedSearch.objects.get(name="twice").query == "q=ssh&range=7d"
    assert SavedSearch.objects.count() == 1


def test_an_auditor_saves_nothing(cast: Cast) -> None:
    assert save(cast.auditor, "auditor's") == 403
    assert not SavedSearch.objects.exists()


def test_a_user_keeps_a_bounded_number_of_saved_searches(cast: Cast, monkeypatch: object) -> None:
    import console.services

    monkeypatch.setattr(console.services, "SAVED_SEARCHES_PER_USER", 3)  # type: ignore[attr-defined]
    for n in range(3):
        assert save(cast.hni_responder, f"search {n}") == 302
    refused = signed_in(cast.hni_responder).post(NEW, {"name": "one more", "sharing": Sharing.PRIVATE,
                                                       "search": "q=ssh&range=7d"}, follow=True)
    assert "the most there may be" in refused.content.decode()
    assert SavedSearch.objects.filter(owner=cast.hni_responder).count() == 3
    assert save(cast.hcm_responder, "another user's") == 302  # the bound is each user's own
