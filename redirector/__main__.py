from shared.cli import serve

serve("redirector.app:factory", "redirector_port")
