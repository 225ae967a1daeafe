"""Show a service error (RoostError) on the form: beside the field its message is about."""


def add_service_error(form, error, parameters, default=None):
    """Attach the error to the first field whose AWS parameter name its message mentions.

    `parameters` maps parameter names (as SQS/SNS spell them in messages) to form fields, most
    specific first; an error naming none of them goes to `default` (None: the whole form).
    """
    for parameter, field in parameters.items():
        if parameter in error.message:
            form.add_error(field, error.message)
            return
    form.add_error(default, error.message)
