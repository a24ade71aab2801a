"""What crmbot does when something happens. Platform-neutral: no chat SDK imports here."""
