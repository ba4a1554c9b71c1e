def test_system_starts_and_admin_logs_in(system):
    admin = system.admin()
    assert admin.get("/api/v1/me").json()["username"] == "admin"
