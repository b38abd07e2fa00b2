from shared.cli import serve

serve("admin_api.app:factory", "admin_port")
