"""The mock server: the platform's endpoints, its world and scenarios, the control API and the
browser side, on Starlette."""
