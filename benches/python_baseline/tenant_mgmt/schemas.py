"""The JSON schema the create handler validates its body with before pydantic (LLD 2.5 §7.3;
the park handler of §7.4 uses pydantic only)."""

CREATE_TENANT_SCHEMA = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "required": ["organizationName", "contactEmail", "environment"],
    "additionalProperties": False,
    "properties": {
        "organizationName": {"type": "string", "minLength": 2, "maxLength": 100},
        "contactEmail": {"type": "string", "maxLength": 254},
        "environment": {"type": "string", "enum": ["dev", "sit", "prod"]},
        "division": {"type": ["string", "null"], "minLength": 2, "maxLength": 50},
        "group": {"type": ["string", "null"], "minLength": 2, "maxLength": 50},
        "team": {"type": ["string", "null"], "minLength": 2, "maxLength": 50},
        "metadata": {"type": ["object", "null"]},
    },
}
