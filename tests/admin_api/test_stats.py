"""GET /api/v1/links/{code}/stats and GET /api/v1/stats: every day of the window, oldest first."""

from __future__ import annotations

import csv
import io

import pytest
import redis
from starlette.testclient import TestClient

from admin_api.stats import StatsReader
from shared.keys import Keys
from shared.scripts import ResolveMode, load_scripts
from shared.stats import DAY_MS
from tests.support.links import create_code

TARGET_A = "https://example.com/a"

SCRIPT = load_scripts()["resolve_link"].source.decode()
DAY = 20_500  # 2026-02-16
MIDNIGHT = DAY * DAY_MS
NOON = MIDNIGHT + 12 * 3600 * 1000
DAYS_ERRORS = ["days: must be an integer from 1 to 90"]


class Clicks:
    """Views and previews recorded by the real script at any moment, as the redirector would."""

    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self.client = client
        self.keys = keys

    def __call__(
        self,
        code: str,
        at: int = NOON,
        host: str = "",
        device: str = "d",
        mode: ResolveMode = ResolveMode.COUNT,
    ) -> None:
        from shared.stats import day_date, utc_day

        keys = [*self.keys.link_family(code), self.keys.totals(day_date(utc_day(at)))]
        self.client.eval(SCRIPT, len(keys), *keys, int(mode), 60, at, host, device)


@pytest.fixture
def click(redis_sync: redis.Redis, key_prefix: str) -> Clicks:
    return Clicks(redis_sync, Keys(key_prefix))


def _stand_at(admin: TestClient, at: int) -> None:
    reader: StatsReader = admin.app.state.services.stats  # type: ignore[attr-defined]
    reader.clock = lambda: at


def test_link_stats_carry_every_field(admin_client: TestClient, click: Clicks) -> None:
    code = create_code(admin_client, targetUrl=TARGET_A)
    click(code, at=NOON - DAY_MS, host="", device="t")
    click(code, host="news.example", device="d")
    click(code, at=NOON + 3, host="news.example", device="m")
    click(code, at=NOON + 1, mode=ResolveMode.PREVIEW)
    _stand_at(admin_client, NOON + 5)

    response = admin_client.get(f"/api/v1/links/{code}/stats?days=3")

    assert response.status_code == 200
    assert response.json() == {
        "shortCode": code,
        "views": 3,
        "previews": 1,
        "lastViewedAt": "2026-02-16T12:00:00.003Z",
        "days": [
            {"date": "2026-02-14", "views": 0, "previews": 0},
            {"date": "2026-02-15", "views": 1, "previews": 0},
            {"date": "2026-02-16", "views": 2, "previews": 1},
        ],
        "referrers": [{"host": "news.example", "views": 2}, {"host": None, "views": 1}],
        "devices": {"desktop": 1, "mobile": 1, "tablet": 1, "other": 0},
    }


def test_link_never_followed_has_zero_stats_and_thirty_days_by_default(
    admin_client: TestClient,
) -> None:
    code = create_code(admin_client, targetUrl=TARGET_A)

    body = admin_client.get(f"/api/v1/links/{code}/stats").json()

    assert len(body["days"]) == 30
    assert all(day["views"] == day["previews"] == 0 for day in body["days"])
    assert body["days"] == sorted(body["days"], key=lambda day: day["date"])
    assert (body["views"], body["previews"], body["lastViewedAt"]) == (0, 0, None)
    assert body["referrers"] == []
    assert body["devices"] == {"desktop": 0, "mobile": 0, "tablet": 0, "other": 0}


def test_window_ends_today_at_utc_midnight(admin_client: TestClient, click: Clicks) -> None:
    code = create_code(admin_client, targetUrl=TARGET_A)
    click(code, at=MIDNIGHT - 1)
    click(code, at=MIDNIGHT)

    _stand_at(admin_client, MIDNIGHT - 1)
    before = admin_client.get(f"/api/v1/links/{code}/stats?days=1").json()["days"]
    _stand_at(admin_client, MIDNIGHT)
    after = admin_client.get(f"/api/v1/links/{code}/stats?days=1").json()["days"]

    assert before == [{"date": "2026-02-15", "views": 1, "previews": 0}]
    assert after == [{"date": "2026-02-16", "views": 1, "previews": 0}]


def test_ninety_day_window_reaches_back_89_days(admin_client: TestClient, click: Clicks) -> None:
    code = create_code(admin_client, targetUrl=TARGET_A)
    click(code, at=NOON - 90 * DAY_MS)  # day 91 back: outside
    click(code, at=NOON - 89 * DAY_MS)
    click(code, at=NOON)
    _stand_at(admin_client, NOON)

    days = admin_client.get(f"/api/v1/links/{code}/stats?days=90").json()["days"]

    assert len(days) == 90
    assert days[0] == {"date": "2025-11-19", "views": 1, "previews": 0}
    assert days[-1] == {"date": "2026-02-16", "views": 1, "previews": 0}
    assert sum(day["views"] for day in days) == 2


def test_referrers_keep_the_ten_biggest_and_fold_the_rest_into_other(
    admin_client: TestClient, click: Clicks
) -> None:
    code = create_code(admin_client, targetUrl=TARGET_A)
    for n in range(12):
        for _ in range(12 - n):
            click(code, host=f"h{n:02d}.example")
    click(code, host="*")

    referrers = admin_client.get(f"/api/v1/links/{code}/stats").json()["referrers"]

    hosts = [{"host": f"h{n:02d}.example", "views": 12 - n} for n in range(9)]
    other = {"host": "other", "views": 3 + 2 + 1 + 1}  # h09, h10, h11 and the unusable one
    assert referrers == [*hosts[:6], other, *hosts[6:]]  # ties: hosts before "other"


@pytest.mark.parametrize("days", ["0", "91", "-1", "abc", "", "1.5", "²", "0007000"])
def test_days_outside_1_to_90_are_refused(admin_client: TestClient, days: str) -> None:
    code = create_code(admin_client, targetUrl=TARGET_A)

    for path in (f"/api/v1/links/{code}/stats", "/api/v1/stats"):
        response = admin_client.get(path, params={"days": days})

        assert response.status_code == 400
        assert response.json() == {
            "status": 400,
            "error": "Bad Request",
            "message": "Validation failed",
            "errors": DAYS_ERRORS,
        }


def test_unknown_format_is_refused(admin_client: TestClient) -> None:
    response = admin_client.get("/api/v1/stats?format=xml&days=0")

    assert response.status_code == 400
    assert response.json()["errors"] == [*DAYS_ERRORS, "format: must be json or csv"]


@pytest.mark.parametrize("code", ["nope1234", "bad", "a" * 65])
def test_stats_of_an_unknown_link_are_404(admin_client: TestClient, code: str) -> None:
    response = admin_client.get(f"/api/v1/links/{code}/stats")

    assert response.status_code == 404
    assert response.json()["message"] == "Link not found"


def test_stats_stay_readable_while_a_revoked_link_is_held(
    admin_client: TestClient, click: Clicks
) -> None:
    code = create_code(admin_client, targetUrl=TARGET_A)
    click(code)
    admin_client.post(f"/api/v1/links/{code}/revoke")
    _stand_at(admin_client, NOON)

    body = admin_client.get(f"/api/v1/links/{code}/stats?days=1").json()

    assert body["days"] == [{"date": "2026-02-16", "views": 1, "previews": 0}]


def test_link_stats_as_csv(admin_client: TestClient, click: Clicks) -> None:
    code = create_code(admin_client, targetUrl=TARGET_A)
    click(code)
    click(code, mode=ResolveMode.PREVIEW)
    _stand_at(admin_client, NOON)

    response = admin_client.get(f"/api/v1/links/{code}/stats?days=2&format=csv")

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == f'attachment; filename="{code}-stats.csv"'
    assert response.text == "date,views,previews\r\n2026-02-15,0,0\r\n2026-02-16,1,1\r\n"


def test_service_stats_count_views_previews_404s_and_410s(
    admin_client: TestClient, click: Clicks
) -> None:
    live, gone = (
        create_code(admin_client, targetUrl=TARGET_A),
        create_code(admin_client, targetUrl=TARGET_A),
    )
    admin_client.post(f"/api/v1/links/{gone}/revoke")
    click(live)
    click(live)
    click(live, mode=ResolveMode.PREVIEW)
    click("Unknown1")
    click(gone)
    click(live, at=NOON - 2 * DAY_MS)
    click(live, mode=ResolveMode.PEEK)  # HEAD: nothing
    _stand_at(admin_client, NOON)

    response = admin_client.get("/api/v1/stats?days=3")

    assert response.status_code == 200
    assert response.json() == {
        "days": [
            {"date": "2026-02-14", "views": 1, "previews": 0, "notFound": 0, "gone": 0},
            {"date": "2026-02-15", "views": 0, "previews": 0, "notFound": 0, "gone": 0},
            {"date": "2026-02-16", "views": 2, "previews": 1, "notFound": 1, "gone": 1},
        ]
    }


def test_service_stats_default_to_seven_days_and_as_csv(
    admin_client: TestClient, click: Clicks
) -> None:
    click("Unknown1")
    _stand_at(admin_client, NOON)

    json_days = admin_client.get("/api/v1/stats").json()["days"]
    response = admin_client.get("/api/v1/stats?format=csv")

    assert [day["date"] for day in json_days][-1] == "2026-02-16"
    assert len(json_days) == 7
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == ["date", "views", "previews", "notFound", "gone"]
    assert rows[-1] == ["2026-02-16", "0", "0", "1", "0"]
    assert len(rows) == 8


def test_stats_need_an_api_key(admin_client: TestClient) -> None:
    for path in ("/api/v1/stats", "/api/v1/links/abcd1234/stats"):
        response = admin_client.get(path, headers={"Authorization": "Bearer wrong"})

        assert response.status_code == 401


def test_openapi_describes_both_routes_from_the_wire_models(
    admin_client: TestClient, click: Clicks
) -> None:
    import msgspec

    from admin_api.stats import LinkStats, ServiceStats

    code = create_code(admin_client, targetUrl=TARGET_A)
    click(code, host="news.example")
    document = admin_client.get("/openapi.json").json()

    link_route = document["paths"]["/api/v1/links/{code}/stats"]["get"]
    service_route = document["paths"]["/api/v1/stats"]["get"]
    days = {p["name"]: p["schema"] for p in link_route["parameters"]}["days"]
    assert days == {"type": "integer", "minimum": 1, "maximum": 90, "default": 30}
    assert {p["name"]: p["schema"] for p in service_route["parameters"]}["days"]["default"] == 7
    assert set(link_route["responses"]["200"]["content"]) == {
        "application/json",
        "text/csv; charset=utf-8",
    }
    schemas = document["components"]["schemas"]
    assert schemas["LinkStats"]["required"] == [
        "shortCode", "views", "previews", "lastViewedAt", "days", "referrers", "devices"
    ]  # fmt: skip
    assert set(schemas["ServiceDay"]["properties"]) == {
        "date",
        "views",
        "previews",
        "notFound",
        "gone",
    }
    # The wire is what the models say: strict decoding of real answers.
    msgspec.json.decode(admin_client.get(f"/api/v1/links/{code}/stats").content, type=LinkStats)
    msgspec.json.decode(admin_client.get("/api/v1/stats").content, type=ServiceStats)
