"""The console's forms: they parse what people type; every rule stays in the service layer."""
