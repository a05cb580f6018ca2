"""The published API contract: sandbox labelling (R55) and documented fields."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient


def _openapi(client: TestClient) -> dict[str, Any]:
    schema: dict[str, Any] = client.get("/openapi.json").json()
    return schema


def test_openapi_is_labelled_as_a_sandbox(client: TestClient) -> None:
    info = _openapi(client)["info"]
    assert info["title"] == "CNH stablecoin sandbox issuer API"
    assert info["description"].startswith("SANDBOX — NOT A LICENSED STABLECOIN")


def test_every_schema_field_has_a_description_and_an_example(client: TestClient) -> None:
    undocumented = []
    for name, schema in _openapi(client)["components"]["schemas"].items():
        for field, spec in schema.get("properties", {}).items():
            # A nested object's example is its own schema's business (its fields are checked too).
            has_example = "examples" in spec or "example" in spec or "$ref" in spec
            if not spec.get("description") or not has_example:
                undocumented.append(f"{name}.{field}")
    assert undocumented == []


def test_every_schema_has_a_description(client: TestClient) -> None:
    """What each object is and where it is met, from the model's docstring; `Page_X_` included."""
    schemas = _openapi(client)["components"]["schemas"]
    assert [name for name, schema in schemas.items() if not schema.get("description", "").strip()] == []
    assert schemas["Page_MintOut_"]["description"] == schemas["Page_CustomerOut_"]["description"]


def test_every_parameter_has_a_description_and_an_example(client: TestClient) -> None:
    """Path, query and header parameters too: `mint_id`, `address`, `cursor`…"""
    undocumented = []
    for path, operations in _openapi(client)["paths"].items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                has_example = "examples" in parameter or "example" in parameter or "examples" in parameter["schema"]
                if not parameter.get("description") or not has_example:
                    undocumented.append(f"{method.upper()} {path} {parameter['in']} {parameter['name']}")
    assert undocumented == []


def test_errors_are_documented_as_problems_and_keys_as_bearer_auth(client: TestClient) -> None:
    spec = _openapi(client)
    create_customer = spec["paths"]["/v1/customers"]["post"]
    assert create_customer["responses"]["422"]["content"]["application/json"]["schema"]["$ref"].endswith("/Problem")
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    assert any(scheme["scheme"] == "bearer" for scheme in spec["components"]["securitySchemes"].values())
    deposit_headers = [p["name"] for p in spec["paths"]["/v1/deposits"]["post"]["parameters"] if p["in"] == "header"]
    assert deposit_headers == ["Idempotency-Key"]


def test_not_found_and_idempotency_conflicts_are_documented_where_they_can_happen(client: TestClient) -> None:
    paths = _openapi(client)["paths"]
    for path, operations in paths.items():
        for method, operation in operations.items():
            names = {(p["in"], p["name"]) for p in operation.get("parameters", [])}
            if any(where == "path" for where, _ in names):
                assert "404" in operation["responses"], f"{method.upper()} {path} does not document 404"
            if ("header", "Idempotency-Key") in names:
                assert "409" in operation["responses"], f"{method.upper()} {path} does not document 409"
    assert "409" in paths["/v1/mints"]["post"]["responses"]
    assert "404" in paths["/v1/mints/{mint_id}"]["get"]["responses"]
    # A route's own wording of the status is kept.
    assert "bank_reference" in paths["/v1/deposits"]["post"]["responses"]["409"]["description"]

