"""Publishers: staff replies sent to where the customer is (handlers/publish_port.py)."""
