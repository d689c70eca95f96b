# The default CUDA architectures of the kernels (trt_plugins/README.md, "CUDA architectures"):
# one rule, used by the top-level CMakeLists.txt and by tests/plugins/test_cuda_architectures.py,
# which runs this file in script mode for nvcc releases it cannot install:
#
#   cmake -DNVCC_VERSION=12.6 -DCMAKE_FOR=3.22 [-DGPU=87|present] [-DDRIVER_CUDA=12.4]
#         [-DNVCC_ARCHS="75;80;…"] -P cmake/LsnetCudaArchitectures.cmake
#
# prints `architectures=<list>`. The rule, first match wins:
#   1. a GPU is visible, CMake >= 3.24, nvcc >= 11.6 and the driver runs this nvcc's CUDA
#      -> native (CMake builds for the GPUs it finds)
#   2. the GPU's compute capability is known (nvidia-smi, or the Jetson SoC) and nvcc targets it -> that one
#   3. otherwise every architecture of the table that this nvcc can target (and, where nvcc can
#      list them, that it lists: a future toolkit that drops one drops it here too).
# Works with CMake 3.22 (JetPack 6).
if(CMAKE_SCRIPT_MODE_FILE STREQUAL CMAKE_CURRENT_LIST_FILE)
  cmake_minimum_required(VERSION 3.22) # the policies of the project (IN_LIST)
endif()

# Architecture : first nvcc release that targets it (NVIDIA's CUDA toolkit release notes).
set(LSNET_CUDA_ARCHITECTURE_TABLE
  "75:10.0"   # Turing: T4, RTX 20
  "80:11.0"   # A100, A30
  "86:11.1"   # RTX 30, A10, A40
  "87:11.4"   # Jetson Orin (JetPack 6: nvcc 12.6)
  "89:11.8"   # Ada: L4, L40, RTX 40
  "90:11.8"   # Hopper: H100, H200
  "100:12.8"  # Blackwell: B200, GB200
  "120:12.8") # Blackwell: RTX 50, RTX PRO
# Known, but built only for their own GPU: Jetson Thor (sm_101 before CUDA 13).
set(LSNET_CUDA_OTHER_ARCHITECTURES "110:13.0")
# Jetson SoC (/proc/device-tree/compatible) : its GPU's architecture.
set(LSNET_TEGRA_ARCHITECTURES "nvidia,tegra234:87" "nvidia,tegra264:110")
set(LSNET_NATIVE_MIN_CMAKE 3.24)
set(LSNET_NATIVE_MIN_NVCC 11.6)

# The value of `key` in a table of "key:value" rows ("" if absent).
function(lsnet_table_lookup table key out)
  set(found "")
  foreach(row IN LISTS ${table})
    string(REPLACE ":" ";" pair "${row}")
    list(GET pair 0 k)
    if(k STREQUAL key)
      list(GET pair 1 found)
    endif()
  endforeach()
  set(${out} "${found}" PARENT_SCOPE)
endfunction()

# The first nvcc release that targets `arch` ("" if no table knows it).
function(lsnet_cuda_architecture_min_nvcc arch out)
  lsnet_table_lookup(LSNET_CUDA_ARCHITECTURE_TABLE "${arch}" found)
  if(NOT found)
    lsnet_table_lookup(LSNET_CUDA_OTHER_ARCHITECTURES "${arch}" found)
  endif()
  set(${out} "${found}" PARENT_SCOPE)
endfunction()

# True when nvcc `nvcc_version` (with its own list `nvcc_archs`, may be empty) targets `arch`.
function(lsnet_nvcc_targets arch nvcc_version nvcc_archs out)
  lsnet_cuda_architecture_min_nvcc("${arch}" min)
  set(ok FALSE)
  if(min AND NOT nvcc_version VERSION_LESS min)
    set(ok TRUE)
  endif()
  if(ok AND nvcc_archs AND NOT arch IN_LIST nvcc_archs)
    set(ok FALSE)
  endif()
  set(${out} ${ok} PARENT_SCOPE)
endfunction()

# The rule above. gpu: "" (none seen), "present" (seen, capability unknown) or an architecture
# ("87"); driver_cuda: the highest CUDA release the driver runs ("" where unknown).
function(lsnet_cuda_architectures out nvcc_version cmake_version gpu driver_cuda nvcc_archs)
  # CMake's native detection runs a CUDA program: it needs a driver as new as the toolkit.
  set(driver_ok TRUE)
  if(driver_cuda AND driver_cuda VERSION_LESS nvcc_version)
    set(driver_ok FALSE)
  endif()
  if(gpu AND driver_ok AND NOT cmake_version VERSION_LESS LSNET_NATIVE_MIN_CMAKE
     AND NOT nvcc_version VERSION_LESS LSNET_NATIVE_MIN_NVCC)
    set(${out} "native" PARENT_SCOPE)
    return()
  endif()
  if(gpu MATCHES "^[0-9]+$")
    lsnet_nvcc_targets("${gpu}" "${nvcc_version}" "${nvcc_archs}" ok)
    if(ok)
      set(${out} "${gpu}" PARENT_SCOPE)
      return()
    endif()
  endif()
  set(archs "")
  foreach(row IN LISTS LSNET_CUDA_ARCHITECTURE_TABLE)
    string(REPLACE ":" ";" pair "${row}")
    list(GET pair 0 a)
    lsnet_nvcc_targets("${a}" "${nvcc_version}" "${nvcc_archs}" ok)
    if(ok)
      list(APPEND archs "${a}")
    endif()
  endforeach()
  set(${out} "${archs}" PARENT_SCOPE)
endfunction()

# nvcc's release ("13.0") and the architectures it lists (`nvcc --list-gpu-arch`; empty where it cannot).
function(lsnet_query_nvcc nvcc version_out archs_out)
  execute_process(COMMAND "${nvcc}" --version OUTPUT_VARIABLE text ERROR_QUIET)
  string(REGEX MATCH "release ([0-9]+\\.[0-9]+)" _ "${text}")
  set(${version_out} "${CMAKE_MATCH_1}" PARENT_SCOPE)
  execute_process(COMMAND "${nvcc}" --list-gpu-arch OUTPUT_VARIABLE listed RESULT_VARIABLE failed ERROR_QUIET)
  set(archs "")
  if(NOT failed)
    string(REGEX MATCHALL "compute_([0-9]+)" items "${listed}")
    foreach(item IN LISTS items)
      string(REPLACE "compute_" "" a "${item}")
      list(APPEND archs "${a}")
    endforeach()
  endif()
  set(${archs_out} "${archs}" PARENT_SCOPE)
endfunction()

# The host's GPU as lsnet_cuda_architectures() takes it, and the highest CUDA release its driver
# supports ("" where unknown): a Jetson's SoC, else nvidia-smi.
function(lsnet_query_host_gpu gpu_out driver_cuda_out)
  set(gpu "")
  set(driver_cuda "")
  if(EXISTS "/proc/device-tree/compatible")
    file(STRINGS "/proc/device-tree/compatible" compatible)
    foreach(soc IN LISTS compatible)
      lsnet_table_lookup(LSNET_TEGRA_ARCHITECTURES "${soc}" arch)
      if(arch)
        set(gpu "${arch}")
      endif()
    endforeach()
  endif()
  find_program(LSNET_NVIDIA_SMI nvidia-smi)
  mark_as_advanced(LSNET_NVIDIA_SMI)
  if(NOT gpu AND LSNET_NVIDIA_SMI)
    execute_process(COMMAND "${LSNET_NVIDIA_SMI}" --query-gpu=compute_cap --format=csv,noheader
                    OUTPUT_VARIABLE caps RESULT_VARIABLE failed ERROR_QUIET)
    if(NOT failed AND caps MATCHES "^([0-9]+)\\.([0-9]+)")
      set(gpu "${CMAKE_MATCH_1}${CMAKE_MATCH_2}")
    else()
      execute_process(COMMAND "${LSNET_NVIDIA_SMI}" -L OUTPUT_VARIABLE listed RESULT_VARIABLE failed ERROR_QUIET)
      if(NOT failed AND listed MATCHES "GPU [0-9]+:")
        set(gpu "present")
      endif()
    endif()
    execute_process(COMMAND "${LSNET_NVIDIA_SMI}" OUTPUT_VARIABLE banner ERROR_QUIET)
    if(banner MATCHES "CUDA Version: ([0-9]+\\.[0-9]+)")
      set(driver_cuda "${CMAKE_MATCH_1}")
    endif()
  endif()
  set(${gpu_out} "${gpu}" PARENT_SCOPE)
  set(${driver_cuda_out} "${driver_cuda}" PARENT_SCOPE)
endfunction()

if(CMAKE_SCRIPT_MODE_FILE STREQUAL CMAKE_CURRENT_LIST_FILE)
  if(NOT DEFINED CMAKE_FOR)
    set(CMAKE_FOR "${CMAKE_VERSION}")
  endif()
  lsnet_cuda_architectures(archs "${NVCC_VERSION}" "${CMAKE_FOR}" "${GPU}" "${DRIVER_CUDA}" "${NVCC_ARCHS}")
  message("architectures=${archs}")
endif()
