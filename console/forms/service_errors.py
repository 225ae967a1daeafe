"""Show a service error (RoostError) on the form: beside the field its message is about."""


def add_service_error(form, error):
    """Attach the error to the first field whose AWS parameter name its message mentions.

    The form says where its errors go: `parameters` maps parameter names (as SQS/SNS spell them
    in messages) to its fields, most specific first; an error naming none of them goes to
    `error_field` (None: the whole form).
    """
    for parameter, field in form.parameters.items():
        if parameter in error.message:
            form.add_error(field, error.message)
            return
    form.add_error(form.error_field, error.message)
