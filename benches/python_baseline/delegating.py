"""The PyO3 path: a Python Lambda handler that delegates the whole request to bbws.

``bbws.handle_api_event`` serves the API Gateway event through bbws's own router, exactly as the
Rust Lambda ``bbws-tenant-api`` does, on the backend the environment names (``BBWS_BACKEND``,
``DYNAMODB_TABLE``, ``EVENT_BUS_NAME``, ``AWS_ENDPOINT_URL``).
"""

import bbws


def handler(event, context):
    return bbws.handle_api_event(event, context)
