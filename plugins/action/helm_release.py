"""kubernetes.core.helm that can run in the background (async), so that a dependency level's releases install at once."""

from ansible_collections.kubernetes.core.plugins.action.helm import ActionModule as HelmAction


class ActionModule(HelmAction):  # pylint: disable=too-few-public-methods
    """kubernetes.core.helm's own action (kubeconfig handling included), with async, which that one refuses."""

    _supports_async = True

    def _execute_module(self, module_name=None, module_args=None, tmp=None, task_vars=None, persist_files=False,
                        delete_remote_tmp=None, wrap_async=False, ignore_unknown_opts=False):
        # Always kubernetes.core.helm's module (this action's module file only documents it); wrapped by
        # async_wrapper when the task is async, as the normal action does.
        return super()._execute_module(
            module_name="kubernetes.core.helm", module_args=module_args, tmp=tmp, task_vars=task_vars,
            persist_files=persist_files, delete_remote_tmp=delete_remote_tmp,
            wrap_async=wrap_async or bool(self._task.async_val and not self._connection.has_native_async),
            ignore_unknown_opts=ignore_unknown_opts)
