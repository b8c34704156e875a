"""Schemathesis against the running app: every response matches the OpenAPI document.

Schemathesis's pytest plugin does not run under this pytest version, so the test walks the
document's operations itself and drives Hypothesis with each operation's strategy.
"""

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import ignored_auth, positive_data_acceptance

from tests.conftest import sign_up, token_value_from

pytestmark = pytest.mark.app_config(RATELIMIT_ENABLED=False)

EXAMPLES_PER_OPERATION = 25


@pytest.fixture
def bearer(live_server):
    signed_in = sign_up(live_server.app.test_client(), "schema@example.com")
    value = token_value_from(signed_in.create_token(kind="jwt").get_data(as_text=True))
    return {"Authorization": f"Bearer {value}"}


def test_api_matches_openapi_document(live_server, bearer):
    schema = schemathesis.openapi.from_url(f"{live_server.url}/api/v1/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 9

    for operation in operations:
        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def check(case):
            # ignored_auth sends each request again without the token and expects a 401.
            # positive_data_acceptance is left out: a schema-valid workspace_id of a
            # workspace the user is not a member of is rejected with 422, by design.
            case.call_and_validate(headers=bearer, additional_checks=[ignored_auth],
                                   excluded_checks=[positive_data_acceptance])

        check()
