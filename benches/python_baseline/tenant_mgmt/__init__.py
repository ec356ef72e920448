"""The tenant use cases of LLD 2.5 as a Python Lambda would implement them (the benchmark baseline).

Modules, in the roles of the LLD's package structure (§3.3):

- ``models``: pydantic v2 models and enums (§5.8) and the status transitions (§7.5);
- ``errors``: the exception hierarchy (§11.1);
- ``identity``: the caller from the API Gateway authorizer claims, and the RBAC of §9.2;
- ``dao``: ``TenantDao`` on boto3 DynamoDB, writing the bbws single-table layout (digest §3.5);
- ``audit_logger``: ``AuditLogger``, one ``EVENT#`` item per change;
- ``event_publisher``: ``EventPublisher`` on EventBridge (retry of §11.3, then an outbox item);
- ``service``: ``TenantService`` (create, get, list, park);
- ``responses``: the JSON bodies, links and the error envelope.
"""
