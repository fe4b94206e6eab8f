"""pixserve inside web pages: the Flask extension, the template helpers and the demo."""
