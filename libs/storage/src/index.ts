// @drover/storage: the storage library (issue 3) lands here. Nothing is exported yet.
export {};
