-- POST /api/links with a generated code left to the app: the create-link write path.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"url": "https://example.com/benchmark/created"}'
