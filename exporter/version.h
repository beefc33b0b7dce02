#pragma once
#define PTE_VERSION_STRING "pte 0.2.0"
