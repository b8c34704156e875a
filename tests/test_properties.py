"""Property tests: whatever bytes arrive in a header or a body, the response is never a 500."""

import hashlib
import hmac
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import token_value_from, webhook_url_from

pytestmark = pytest.mark.app_config(RATELIMIT_ENABLED=False)

# Header values as a server receives them: any Latin-1 character except the line breaks
# and NUL that HTTP itself forbids.
header_values = st.text(
    alphabet=st.characters(min_codepoint=1, max_codepoint=255, blacklist_characters="\r\n"), max_size=300
)
bearer_like = st.one_of(
    header_values,
    st.builds(lambda value: "Bearer " + value, header_values),
    st.builds(lambda value: "bearer  " + value + " ", st.text(alphabet="0123456789abcdef.", max_size=80)),
)
examples = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture
def webhook(user):
    page = user.create_token(kind="hex").get_data(as_text=True)
    return {"secret": token_value_from(page), "path": urlsplit(webhook_url_from(page)).path}


@examples
@given(authorization=bearer_like)
def test_any_authorization_header_gets_200_or_401(app, user, authorization):
    response = app.test_client().get("/api/v1/me", headers={"Authorization": authorization})
    assert response.status_code in (200, 401)
    if response.status_code == 401:
        assert response.get_json()["error"] == "invalid_token"


@examples
@given(signature=header_values, body=st.binary(max_size=2048))
def test_any_signature_and_body_never_fail(app, webhook, signature, body):
    response = app.test_client().post(webhook["path"], data=body, headers={"X-Hub-Signature": signature})
    assert response.status_code in (200, 401, 413, 422)


@examples
@given(body=st.one_of(st.binary(max_size=2048), st.text(max_size=500).map(str.encode)))
def test_any_correctly_signed_body_gets_200_or_422(app, webhook, body):
    signature = hmac.new(webhook["secret"].encode(), body, hashlib.sha256).hexdigest()
    response = app.test_client().post(webhook["path"], data=body, headers={"X-Hub-Signature": signature})
    assert response.status_code in (200, 422)
