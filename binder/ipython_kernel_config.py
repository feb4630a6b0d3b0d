# IPython kernel settings for nst_teach on Binder, copied by postBuild into the
# kernel's profile (~/.ipython/profile_default/).
#
# TensorFlow's shared libraries print two lines ("oneDNN custom operations are
# on", "Could not find cuda drivers") from C code while they load, before any
# TensorFlow setting is read. ipykernel copies such file-descriptor output into
# the notebook; this, Jupyter's own setting (also used by the jupyter/docker-stacks
# images), sends it to the server's log instead, so a lesson's first output is
# the lesson's. Python's warnings, prints and errors still show in the notebook.
c = get_config()  # noqa: F821
c.IPKernelApp.capture_fd_output = False
