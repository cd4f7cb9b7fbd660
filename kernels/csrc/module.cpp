// The Python extension module kernels._C. Importing it loads the shared library, whose static
// TORCH_LIBRARY_FRAGMENT / TORCH_LIBRARY_IMPL blocks register the visionq ops with the dispatcher.
// Its one attribute, built_with_cuda, says whether setup.py compiled the CUDA kernels into it.
#include <Python.h>

namespace {

PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    "_C",
    "visionq NMS kernels (the ops are under torch.ops.visionq)",
    -1,
    nullptr,
};

} // namespace

PyMODINIT_FUNC PyInit__C(void) {
  PyObject* module = PyModule_Create(&module_def);
  if (module == nullptr) {
    return nullptr;
  }
#ifdef VISIONQ_WITH_CUDA
  PyObject* with_cuda = Py_True;
#else
  PyObject* with_cuda = Py_False;
#endif
  if (PyModule_AddObjectRef(module, "built_with_cuda", with_cuda) < 0) {
    Py_DECREF(module);
    return nullptr;
  }
  return module;
}
